"""Device and precision choice.

CUDA: weights in bf16 (fp16 where bf16 is unsupported). CPU: float32 weights, with bf16 autocast
when the CPU multiplies bf16 natively (AVX512-BF16 or AMX): about 1.7x faster for MiniLM here with
embeddings within 1e-4 cosine of float32. Precision is a run-time choice like the device, so it is
not part of the encoder fingerprint; int8 quantisation, which moves vectors further, is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16"]


def pick_device(requested: str | None = None) -> torch.device:
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device: torch.device) -> torch.dtype:
    """Dtype the weights are loaded in."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_for(device: torch.device, precision: Precision) -> Callable[[], AbstractContextManager[object]]:
    """A factory of the context each forward pass runs in."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision {precision!r}: choose auto, fp32 or bf16")
    if device.type == "cpu" and (precision == "bf16" or (precision == "auto" and cpu_has_native_bf16())):
        return lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext
