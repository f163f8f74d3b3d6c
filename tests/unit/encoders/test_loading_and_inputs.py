from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hybrid.encoders import load_encoder
from hybrid.recipes import DEFAULT_MODEL, EncoderLoadError, EncoderSpec, bmretriever_spec, model_for_index, resolve_spec
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox


def test_offline_presets_agree_with_their_weights(minilm, smollm2) -> None:  # type: ignore[no-untyped-def]
    for name, encoder in (("minilm", minilm), ("smollm2-135m", smollm2)):
        spec = resolve_spec(name)
        assert encoder.dimension == spec.dimension and encoder.spec.kind == spec.kind
        assert model_for_index(encoder.fingerprint, None) == name  # an index they built finds them again


def test_hub_presets_are_the_bmretriever_recipe_on_their_hub_names() -> None:
    for name in ("bmretriever-410m", "bmretriever-1b", "bmretriever-2b", "bmretriever-7b"):
        spec = resolve_spec(name)
        recipe = bmretriever_spec(spec.model_id, dimension=spec.dimension, name=name)
        assert spec == recipe and spec.source == spec.model_id  # loaded by hub name
        assert spec.model_id.startswith("BMRetriever/BMRetriever-")
    assert resolve_spec("BMRetriever/BMRetriever-410M").name == "bmretriever-410m"


def test_model_for_index(tmp_path: Path) -> None:
    folder = save_tiny_gpt_neox(tmp_path / "m")
    built = load_encoder(str(folder), device="cpu", precision="fp32", max_length=24)
    assert model_for_index(built.fingerprint, "minilm", str(folder)) == "minilm"  # asked for: wins
    chosen = model_for_index(built.fingerprint, None, str(folder))  # no preset: the recorded folder, same recipe
    assert isinstance(chosen, EncoderSpec) and chosen.max_length == 24
    assert load_encoder(chosen, device="cpu", precision="fp32").fingerprint == built.fingerprint
    assert model_for_index(built.fingerprint, None, str(tmp_path / "gone")) == DEFAULT_MODEL
    assert model_for_index(built.fingerprint, None) == DEFAULT_MODEL


def test_unknown_preset_names_what_was_tried() -> None:
    with pytest.raises(EncoderLoadError, match="not a preset .*minilm.*not an existing path"):
        load_encoder("no-such-model")


def test_unloadable_model_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "not-an-architecture"}))
    with pytest.raises(EncoderLoadError, match=f"cannot load encoder .* from {tmp_path}"):
        load_encoder(str(tmp_path))


def test_hub_model_without_hub_is_a_clear_error() -> None:
    with pytest.raises(EncoderLoadError, match="BMRetriever/BMRetriever-410M"):
        load_encoder("bmretriever-410m", device="cpu")


def test_inputs(tmp_path: Path) -> None:
    encoder = load_encoder(str(save_tiny_gpt_neox(tmp_path)), device="cpu", max_length=16, precision="fp32")
    empty = encoder.encode_passages([])
    assert empty.shape == (0, 32) and empty.dtype == np.float32
    assert encoder.encode_queries("mice").shape == (1, 32)  # a single string is wrapped
    with pytest.raises(TypeError, match=r"passages\[1\] is int"):
        encoder.encode_passages(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not bytes"):
        encoder.encode_queries(b"bytes")  # type: ignore[arg-type]


def test_order_restored_across_batches(tmp_path: Path) -> None:
    encoder = load_encoder(str(save_tiny_gpt_neox(tmp_path)), device="cpu", max_length=16, batch_size=2, precision="fp32")
    texts = ["protein", "the cell study was a trial", "gene", "mice and patients in the cancer trial", "dose"]
    batched = encoder.encode_passages(texts)
    single = np.concatenate([encoder.encode_passages([t]) for t in texts])
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(encoder.encode_passages(texts[::-1]), batched[::-1], rtol=1e-4, atol=1e-5)


def test_precision_choice(tmp_path: Path) -> None:
    import torch

    from hybrid.encoders.device import autocast_for, cpu_has_native_bf16, effective_precision

    cpu = torch.device("cpu")
    assert autocast_for(cpu, "fp32")().__class__.__name__ == "nullcontext"
    assert autocast_for(cpu, "int8")().__class__.__name__ == "nullcontext"  # queries stay fp32 torch
    assert isinstance(autocast_for(cpu, "bf16")(), torch.autocast)
    auto = effective_precision(cpu, "auto", kind="decoder", quantize=None)
    assert isinstance(autocast_for(cpu, auto)(), torch.autocast) == cpu_has_native_bf16()
    with pytest.raises(ValueError, match="precision"):
        effective_precision(cpu, "fp8", kind="decoder", quantize=None)  # type: ignore[arg-type]
    flags = tmp_path / "cpuinfo"
    flags.write_text("flags : fpu avx2 avx512f\n")
    assert cpu_has_native_bf16(flags) is False
    flags.write_text("flags : fpu avx512f avx512_bf16\n")
    assert cpu_has_native_bf16(flags) is True


def test_weight_dtype_per_device_and_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from hybrid.encoders.device import pick_dtype

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert pick_dtype(cuda, "fp32") == torch.float32  # fp32 asked for on a GPU means fp32 weights
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert pick_dtype(cuda) == pick_dtype(cuda, "bf16") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert pick_dtype(cuda) == torch.float16  # pre-Ampere GPUs
    assert pick_dtype(cpu) == pick_dtype(cpu, "bf16") == pick_dtype(cpu, "int8") == torch.float32


def test_bf16_stays_close_to_fp32(tmp_path: Path) -> None:
    folder = save_tiny_gpt_neox(tmp_path)
    texts = ["protein", "the cell study was a trial of mice"]
    exact = load_encoder(str(folder), device="cpu", max_length=16, precision="fp32").encode_passages(texts)
    fast = load_encoder(str(folder), device="cpu", max_length=16, precision="bf16").encode_passages(texts)
    cosine = (exact * fast).sum(1) / (np.linalg.norm(exact, axis=1) * np.linalg.norm(fast, axis=1))
    assert (cosine > 0.99).all()
