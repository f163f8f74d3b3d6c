"""The machine a benchmark ran on, recorded with its figures: CPU model and the flags that decide speed."""

from __future__ import annotations

import os
import platform
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")


def describe() -> dict[str, object]:
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key.strip() in ("cpu family", "model") and value.strip().isdigit():
                model_key = key.strip().replace(" ", "_")
                flags.add(f"{model_key}={value.strip()}")
            elif key.strip() == "flags":
                flags.update(f for f in value.split() if f in FLAGS)
    return {"cpu": model, "cpu_flags": sorted(flags), "cores": os.cpu_count(), "python": platform.python_version()}
