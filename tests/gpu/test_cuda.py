"""The GPU path on a real CUDA device: encoders in bf16 (fp16 where bf16 is unsupported) embed like
fp32 on the CPU, fp32 means fp32 weights, and `hybrid train` runs on CUDA and writes a model that
embeds on the CPU as it did on the GPU. Peak GPU memory goes to ``HYBRID_TEST_ARTIFACTS``/gpu.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from hybrid.encoders import load_encoder
from hybrid.encoders.device import GPU_MAX_BATCH, GPU_MIN_BATCH
from hybrid.training.trainer import TrainConfig, train
from tests.unit.training.test_train import TEXTS, word_examples

pytestmark = pytest.mark.gpu

ARTIFACTS = Path(os.environ.get("HYBRID_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
PASSAGES = ["Statin therapy lowers LDL cholesterol in adults with type 2 diabetes.",
            "Vitamin D supplementation did not change bone mineral density in healthy adults.",
            "BRCA1 mutations raise the lifetime risk of breast and ovarian cancer."]


def _record(name: str, value: object) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "gpu.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = value
    path.write_text(json.dumps(data, indent=1) + "\n")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("model", ["minilm", "smollm2-135m"])
def test_half_precision_on_cuda_embeds_like_fp32_on_cpu(model: str) -> None:
    cpu = load_encoder(model, device="cpu", precision="fp32")
    gpu = load_encoder(model, device="cuda")
    expected = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    assert next(gpu.module.parameters()).dtype == expected
    # The batch is chosen from the model's shape and free memory: a power of two within its bounds.
    assert GPU_MIN_BATCH <= gpu.batch_size <= GPU_MAX_BATCH and gpu.batch_size & (gpu.batch_size - 1) == 0
    _record(f"{model} batch chosen on CUDA", gpu.batch_size)
    for embed in ("encode_passages", "encode_queries"):
        cosines = _cosines(getattr(gpu, embed)(PASSAGES), getattr(cpu, embed)(PASSAGES))
        assert cosines.min() >= 0.999, (model, embed, cosines)
    _record(f"{model} bf16-vs-fp32 min cosine", float(cosines.min()))


def test_fp32_on_cuda_loads_fp32_weights() -> None:
    encoder = load_encoder("minilm", device="cuda", precision="fp32")
    assert next(encoder.module.parameters()).dtype == torch.float32


@pytest.mark.parametrize(("model", "lora"), [("minilm", False), ("smollm2-135m", True)])
def test_training_on_cuda_writes_a_model_that_embeds_the_same_on_cpu(model: str, lora: bool, tmp_path: Path) -> None:
    torch.cuda.reset_peak_memory_stats()
    report = train(model, word_examples(32), tmp_path / "run",
                   TrainConfig(max_steps=4, batch_size=8, max_length=64, lora=lora, warmup_ratio=0.0, patience=None),
                   device="cuda", progress=False)
    assert report.steps == 4 and report.peak_gpu_memory_gib is not None and report.peak_gpu_memory_gib > 0
    _record(f"{model} training peak GPU GiB (batch 8, 64 tokens)", report.peak_gpu_memory_gib)
    on_gpu = load_encoder(str(tmp_path / "run"), device="cuda", precision="fp32")
    on_cpu = load_encoder(str(tmp_path / "run"), device="cpu", precision="fp32")
    assert _cosines(on_gpu.encode_passages(TEXTS), on_cpu.encode_passages(TEXTS)).min() >= 0.9999
