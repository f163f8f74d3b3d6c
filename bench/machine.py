"""The machine a benchmark ran on, recorded with its figures and printed above its table: the CPU and
the flags that decide which fast path runs, threads, library versions, and the precision in use."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def _cpuinfo() -> tuple[str, list[str]]:
    model, family, number, flags = platform.processor() or platform.machine(), "", "", set()
    path = Path("/proc/cpuinfo")
    if path.is_file():
        for line in path.read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                model = value
            elif key == "cpu family":
                family = value
            elif key == "model":
                number = value
            elif key == "flags":
                flags.update(f for f in value.split() if f in FLAGS)
    if family:
        model = f"{model} (family {family}, model {number})"
    return model, sorted(flags)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe(precision: str | None = None) -> dict[str, object]:
    """This machine; ``precision`` is what the benchmark's encoder actually ran (``Encoder.runtime``)."""
    import torch

    cpu, flags = _cpuinfo()
    info: dict[str, object] = {
        "cpu": cpu, "cpu_flags": flags, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(), "torch": _version("torch"), "onnxruntime": _version("onnxruntime"),
        "sentence_transformers": _version("sentence-transformers"), "transformers": _version("transformers"),
    }
    if precision is not None:
        info["precision"] = precision
    return info


def header(info: dict[str, object]) -> str:
    """One line for the top of a benchmark's table."""
    flags = ", ".join(info["cpu_flags"]) or "none of " + "/".join(FLAGS)  # type: ignore[arg-type]
    line = f"machine: {info['cpu']}, {info['cores']} cores, flags {flags}; torch {info['torch']} ({info['torch_threads']} threads)"
    if info.get("onnxruntime"):
        line += f", onnxruntime {info['onnxruntime']}"
    if info.get("gpu"):
        line += f"; GPU {info['gpu']}"
    if info.get("precision"):
        line += f"; precision: {info['precision']}"
    return line


def percentile_ms(seconds: list[float], share: float) -> float:
    """The ``share`` percentile of latencies given in seconds, in ms (the sample at rank ``share * (n - 1)``,
    rounded down: no interpolation between two requests)."""
    ordered = sorted(seconds)
    return ordered[int(share * (len(ordered) - 1))] * 1000


def p50_p95_ms(seconds: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of latencies given in seconds, in ms."""
    return statistics.median(seconds) * 1000, percentile_ms(seconds, 0.95)


def write_report(path: Path, report: object) -> None:
    """A benchmark's JSON, written where asked (folders made), and the line saying where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {path}")
