"""Will the model fit? Checked from the parameter count before any weights are loaded.

Full fine-tuning with AdamW in float32 holds weights, gradients and two moments: 16 bytes per
parameter. With LoRA the frozen backbone needs only its weights (4 bytes in float32) and the
adapters are a rounding error. Activations come on top, so the estimate is a floor, and a run
that passes this check can still run out of memory on very long inputs or large batches.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from hybrid.recipes import EncoderSpec
from hybrid.training.errors import ModelTooLargeError

FULL_BYTES_PER_PARAM = 16
LORA_BYTES_PER_PARAM = 4


def parameter_count(spec: EncoderSpec) -> int | None:
    """Parameters of the spec's backbone without loading weights (None when the config is unreadable)."""
    try:
        from accelerate import init_empty_weights
        from transformers import AutoConfig, AutoModel

        kwargs = {"gguf_file": spec.gguf_file} if spec.gguf_file else {}
        config = AutoConfig.from_pretrained(spec.source, revision=spec.revision, **kwargs)
        with init_empty_weights():
            model = AutoModel.from_config(config)
        return sum(p.numel() for p in model.parameters())
    except Exception:  # noqa: BLE001 - an estimate only; loading reports real problems itself
        return None


def available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def required_bytes(parameters: int, lora: bool) -> int:
    return parameters * (LORA_BYTES_PER_PARAM if lora else FULL_BYTES_PER_PARAM)


def check_fits(spec: EncoderSpec, device: torch.device, lora: bool) -> int | None:
    """Raise ModelTooLargeError when weights + optimiser state alone exceed free memory; returns the count."""
    parameters = parameter_count(spec)
    if parameters is None:
        return None
    need, have = required_bytes(parameters, lora), available_bytes(device)
    if need > have:
        how = "LoRA (frozen float32 backbone)" if lora else "full fine-tuning (weights, gradients, AdamW state)"
        hint = "" if lora else "; try --lora" if spec.kind == "decoder" else ""
        raise ModelTooLargeError(
            f"{spec.model_id} has {parameters / 1e6:.0f}M parameters; {how} needs at least "
            f"{need / 2**30:.1f} GiB but {device} has {have / 2**30:.1f} GiB free{hint}"
        )
    return parameters
