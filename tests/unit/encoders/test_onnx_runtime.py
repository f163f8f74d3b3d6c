"""The int8 ONNX Runtime path for passages of sentence-transformers models (real MiniLM weights)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

import hybrid.encoders.device as device
import hybrid.encoders.sentence as sentence
from hybrid.encoders import load_encoder
from hybrid.encoders.onnx_runtime import first_attention, onnxruntime_available
from hybrid.recipes import EncoderLoadError
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

PASSAGES = [
    "Statin therapy lowered LDL cholesterol by 30% in 2,000 patients with coronary heart disease.",
    "BRCA1 mutations raise the lifetime risk of breast and ovarian cancer.",
    "Mice lacking the gene developed insulin resistance on a high-fat diet.",
    "short",
]
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if not onnxruntime_available():
        pytest.skip("onnxruntime is not installed")
    return load_encoder("minilm", device="cpu", precision="int8", cache_dir=tmp_path_factory.mktemp("cache"))


def test_passages_in_int8_stay_close_to_fp32_and_queries_are_fp32(int8, minilm) -> None:  # type: ignore[no-untyped-def]
    """Passages: int8 matmuls, close to fp32. Queries: fp32 in ONNX Runtime, equal to torch's, and the
    same alone or in a batch (an int8 vector would depend on its batch mates)."""
    fast, exact = int8.encode_passages(PASSAGES), minilm.encode_passages(PASSAGES)
    cosines = (fast * exact).sum(1)  # unit vectors
    assert cosines.min() > 0.97 and cosines.mean() > 0.985
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    batched = int8.encode_queries(PASSAGES)
    np.testing.assert_allclose(batched, minilm.encode_queries(PASSAGES), atol=1e-5)
    np.testing.assert_allclose(np.concatenate([int8.encode_queries([p]) for p in PASSAGES]), batched, atol=1e-5)
    assert int8.fingerprint == minilm.fingerprint  # a run-time precision: the same index serves both
    assert int8.runtime == "onnxruntime on cpu: queries fp32, passages int8"
    assert not np.allclose(fast, exact, atol=1e-4)  # it really ran the int8 model
    for transformer in int8._onnx:  # idle pool threads sleep: a spinning one takes a core from the node
        assert transformer.session.get_session_options().get_session_config_entry(
            "session.intra_op.allow_spinning") == "0"


def test_the_export_is_cached_by_the_weights(int8, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = int8._onnx[1].path
    before = path.stat().st_mtime
    cache_dir = path.parents[3]
    started = time.perf_counter()
    again = load_encoder("minilm", device="cpu", precision="int8", cache_dir=cache_dir)
    assert again._onnx[1].path == path and path.stat().st_mtime == before
    assert time.perf_counter() - started < 30  # no export, quantisation or optimisation again
    np.testing.assert_allclose(again.encode_passages(PASSAGES), int8.encode_passages(PASSAGES), atol=1e-6)


def test_auto_falls_back_to_fp32_when_the_export_fails(minilm, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("exporter does not know this architecture")

    monkeypatch.setattr(sentence, "cached_models", broken)
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: False)
    if onnxruntime_available():
        auto = load_encoder("minilm", device="cpu", cache_dir=tmp_path)
        assert auto.precision == "fp32" and auto.runtime == "torch float32 on cpu"
        np.testing.assert_allclose(auto.encode_passages(PASSAGES), minilm.encode_passages(PASSAGES), atol=1e-5)
        monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)  # where bf16 is native: bf16 autocast
        auto = load_encoder("minilm", device="cpu", cache_dir=tmp_path)
        assert auto.precision == "bf16" and auto.runtime == "torch float32 on cpu, bf16 autocast"
        cosines = np.sum(auto.encode_passages(PASSAGES) * minilm.encode_passages(PASSAGES), axis=1)
        assert cosines.min() > 0.99
    with pytest.raises(EncoderLoadError, match="cannot run in ONNX Runtime: RuntimeError: exporter does not know"):
        load_encoder("minilm", device="cpu", precision="int8", cache_dir=tmp_path)


def test_what_auto_means(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import hybrid.encoders.onnx_runtime as onnx_runtime

    for native_bf16, has_ort, kind, quantize, expected in [
        (True, True, "sentence-transformers", None, "int8"),  # faster than bf16 autocast where both exist
        (False, True, "sentence-transformers", None, "int8"),
        (True, False, "sentence-transformers", None, "bf16"),
        (False, False, "sentence-transformers", None, "fp32"),
        (True, True, "decoder", None, "bf16"),
        (False, True, "decoder", None, "fp32"),
        (True, True, "sentence-transformers", "int8", "fp32"),  # torch's int8 recipe takes fp32 activations
    ]:
        monkeypatch.setattr(device, "cpu_has_native_bf16", lambda native_bf16=native_bf16: native_bf16)
        monkeypatch.setattr(onnx_runtime, "onnxruntime_available", lambda has_ort=has_ort: has_ort)
        assert device.effective_precision(CPU, "auto", kind=kind, quantize=quantize) == expected
    assert device.effective_precision(torch.device("cuda"), "auto", kind="decoder", quantize=None) == "fp32"
    assert device.effective_precision(CPU, "bf16", kind="decoder", quantize=None) == "bf16"
    with pytest.raises(ValueError, match="int8 .* is for sentence-transformers models on the CPU"):
        device.effective_precision(CPU, "int8", kind="decoder", quantize=None)


def test_int8_is_refused_for_decoders(tmp_path: Path) -> None:
    with pytest.raises(EncoderLoadError, match="int8 .* is for sentence-transformers models"):
        load_encoder(str(save_tiny_gpt_neox(tmp_path)), device="cpu", precision="int8")


def test_the_first_layers_attention_stays_fp32() -> None:
    fused = [("EmbedLayerNormalization_0", "EmbedLayerNormalization"), ("Attention_0", "Attention"),
             ("MatMul_1", "MatMul"), ("Attention_1", "Attention")]
    assert first_attention(fused) == ["Attention_0"]
    unfused = [("/encoder/layer.0/attention/self/query/MatMul", "MatMul"),
               ("/encoder/layer.0/intermediate/dense/MatMul", "MatMul"),
               ("/encoder/layer.1/attention/self/query/MatMul", "MatMul")]
    assert first_attention(unfused) == ["/encoder/layer.0/attention/self/query/MatMul"]
