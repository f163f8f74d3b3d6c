"""Device and precision choice.

CUDA: weights in bf16 (fp16 where bf16 is unsupported). CPU: sentence-transformers models run in ONNX
Runtime (int8 matrix multiplies for passages, fp32 for queries; ``onnx_runtime.py``) — the fastest path on
CPUs with and without native bf16 (measured on both kinds); decoders, and models ONNX cannot take, run
float32 weights with bf16 autocast where the CPU multiplies bf16 natively (AVX512-BF16 or AMX), else
fp32. Both fast paths keep retrieval within the noise of fp32 (measured), so precision is a run-time choice like the device
and not part of the encoder fingerprint; the recipe's int8 quantisation of every linear layer in
torch (``quantize="int8"``), which moves vectors further, is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16", "int8"]
RunPrecision = Literal["fp32", "bf16", "int8"]


def pick_device(requested: str | None = None) -> torch.device:
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device: torch.device, precision: Precision = "auto") -> torch.dtype:
    """Dtype the weights are loaded in: on CUDA bf16 (fp16 where bf16 is unsupported) unless fp32 is
    asked for; on CPUs always float32 (bf16 there is autocast over fp32 weights)."""
    if device.type == "cuda" and precision != "fp32":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def effective_precision(device: torch.device, requested: Precision, *, kind: str, quantize: str | None) -> RunPrecision:
    """What ``auto`` means on this device for this model, or the precision asked for (checked)."""
    if requested not in ("auto", "fp32", "bf16", "int8"):
        raise ValueError(f"precision {requested!r}: choose auto, fp32, bf16 or int8")
    if requested == "int8" and (device.type != "cpu" or kind != "sentence-transformers"):
        raise ValueError("precision int8 (ONNX Runtime) is for sentence-transformers models on the CPU")
    if requested != "auto":
        return requested
    if quantize == "int8" or device.type != "cpu":
        return "fp32"  # torch's int8 kernels take fp32 activations; CUDA precision is the weights' dtype
    from hybrid.encoders.onnx_runtime import onnxruntime_available

    if kind == "sentence-transformers" and onnxruntime_available():
        return "int8"
    return torch_cpu_precision()


def torch_cpu_precision() -> RunPrecision:
    """What a model runs in under torch on this CPU: bf16 autocast where bf16 is native, else fp32."""
    return "bf16" if cpu_has_native_bf16() else "fp32"


def autocast_for(device: torch.device, precision: RunPrecision) -> Callable[[], AbstractContextManager[object]]:
    """A factory of the context each torch forward pass runs in."""
    if device.type == "cpu" and precision == "bf16":
        return lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext


# Batch choice on a GPU: the largest power of two in [GPU_MIN_BATCH, GPU_MAX_BATCH] whose inference
# activations fit in a share of the free memory. Past a few hundred texts a batch gains nothing on
# throughput and only delays the first out-of-memory error.
GPU_MIN_BATCH = 8
GPU_MAX_BATCH = 256
GPU_ACTIVATION_SHARE = 0.5


def activation_bytes_per_text(config: object, max_length: int, dtype_bytes: int) -> int:
    """Live activations of one text at the widest point of a transformer layer without gradients: the
    hidden state and its q/k/v/output projections, a (gated) MLP's intermediate tensors, and attention
    scores in case the kernel materialises them."""
    hidden = int(getattr(config, "hidden_size"))
    intermediate = int(getattr(config, "intermediate_size", None) or 4 * hidden)
    heads = int(getattr(config, "num_attention_heads", None) or 1)
    per_token = 8 * hidden + 3 * intermediate
    return (max_length * per_token + heads * max_length * max_length) * dtype_bytes


def gpu_batch_size(free_bytes: int, per_text_bytes: int) -> int:
    """Texts per forward pass for ``free_bytes`` of GPU memory (see ``activation_bytes_per_text``)."""
    fits = int(free_bytes * GPU_ACTIVATION_SHARE) // max(per_text_bytes, 1)
    size = GPU_MIN_BATCH
    while size * 2 <= min(fits, GPU_MAX_BATCH):
        size *= 2
    return size
