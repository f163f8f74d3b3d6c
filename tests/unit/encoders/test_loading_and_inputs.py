from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hybrid.encoders import load_encoder
from hybrid.recipes import PRESETS, EncoderLoadError, resolve_spec
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox


def test_presets_know_their_recipes() -> None:
    assert {"bmretriever-410m", "bmretriever-1b", "bmretriever-2b", "bmretriever-7b", "minilm", "smollm2-135m"} <= set(PRESETS)
    dims = {name: resolve_spec(name).dimension for name in PRESETS}
    assert dims["bmretriever-410m"] == 1024 and dims["bmretriever-2b"] == 2048 and dims["bmretriever-7b"] == 4096
    bm = resolve_spec("bmretriever-2b")
    assert (bm.source, bm.kind, bm.pooling, bm.similarity, bm.normalize) == (
        "BMRetriever/BMRetriever-2B", "decoder", "last_token", "dot", False)
    mini = resolve_spec("minilm")
    assert (mini.kind, mini.pooling, mini.normalize, mini.similarity) == ("sentence-transformers", "mean", True, "cosine")
    assert resolve_spec("smollm2-135m").gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_hub_name_of_a_preset_resolves_to_it() -> None:
    assert resolve_spec("BMRetriever/BMRetriever-410M").name == "bmretriever-410m"


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

    from hybrid.encoders.device import autocast_for, cpu_has_native_bf16

    assert autocast_for(torch.device("cpu"), "fp32")().__class__.__name__ == "nullcontext"
    assert isinstance(autocast_for(torch.device("cpu"), "bf16")(), torch.autocast)
    assert isinstance(autocast_for(torch.device("cpu"), "auto")(), torch.autocast) == cpu_has_native_bf16()
    with pytest.raises(ValueError, match="precision"):
        autocast_for(torch.device("cpu"), "fp8")  # type: ignore[arg-type]
    flags = tmp_path / "cpuinfo"
    flags.write_text("flags : fpu avx2 avx512f\n")
    assert cpu_has_native_bf16(flags) is False
    flags.write_text("flags : fpu avx512f avx512_bf16\n")
    assert cpu_has_native_bf16(flags) is True


def test_bf16_stays_close_to_fp32(tmp_path: Path) -> None:
    folder = save_tiny_gpt_neox(tmp_path)
    texts = ["protein", "the cell study was a trial of mice"]
    exact = load_encoder(str(folder), device="cpu", max_length=16, precision="fp32").encode_passages(texts)
    fast = load_encoder(str(folder), device="cpu", max_length=16, precision="bf16").encode_passages(texts)
    cosine = (exact * fast).sum(1) / (np.linalg.norm(exact, axis=1) * np.linalg.norm(fast, axis=1))
    assert (cosine > 0.99).all()
