"""The BMRetriever recipe on a tiny random GPT-NeoX: EOS appended, last-token pooling exact for both paddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hybrid.encoders import load_encoder
from hybrid.encoders.decoder import DecoderEncoder
from hybrid.encoders.pooling import last_token_pool
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

TEXTS = ["protein", "the cell study was a trial of mice", "gene cancer", "patients and dose results in the study"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> DecoderEncoder:
    folder = save_tiny_gpt_neox(tmp_path_factory.mktemp("neox"))
    encoder = load_encoder(str(folder), device="cpu", max_length=16, precision="fp32")
    assert isinstance(encoder, DecoderEncoder)
    return encoder


def reference(encoder: DecoderEncoder, text: str) -> np.ndarray:
    """By hand: ids truncated to max_length-1, EOS appended, no padding, state of the final position."""
    ids = encoder.tokenizer(text, add_special_tokens=True)["input_ids"][: encoder.spec.max_length - 1]
    ids = ids + [encoder.tokenizer.eos_token_id]
    with torch.no_grad():
        hidden = encoder.model(input_ids=torch.tensor([ids])).last_hidden_state
    return hidden[0, -1].numpy()


def test_no_pad_token_means_eos_padding_on_the_left(tiny: DecoderEncoder) -> None:
    assert tiny.tokenizer.pad_token_id == tiny.tokenizer.eos_token_id
    assert tiny.tokenizer.padding_side == "left"
    batch = tiny.tokenize(TEXTS)
    mask = batch["attention_mask"]
    assert (mask[:, -1] == 1).all()  # left padding: every row ends with a real token
    assert (batch["input_ids"][:, -1] == tiny.tokenizer.eos_token_id).all()  # … and that token is EOS


@pytest.mark.parametrize("side", ["left", "right"])
def test_last_token_pooling_matches_reference(tiny: DecoderEncoder, side: str) -> None:
    tiny.tokenizer.padding_side = side
    try:
        batch = tiny.tokenize(TEXTS)
        rows = batch["input_ids"].tolist()
        for row, mask in zip(rows, batch["attention_mask"].tolist()):
            real = [tok for tok, m in zip(row, mask) if m]
            assert real[-1] == tiny.tokenizer.eos_token_id
        got = tiny.embed_batch(TEXTS)
    finally:
        tiny.tokenizer.padding_side = "left"
    expected = np.stack([reference(tiny, t) for t in TEXTS])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_pool_picks_last_real_position() -> None:
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 1]])
    assert last_token_pool(hidden, right).flatten().tolist() == [1.0, 7.0]  # positions 1 and 3
    assert last_token_pool(hidden, left).flatten().tolist() == [3.0, 7.0]  # position 3 in both rows


def test_overlong_text_is_truncated_with_eos_kept(tiny: DecoderEncoder) -> None:
    long_text = " ".join(["protein"] * 500)
    batch = tiny.tokenize([long_text])
    assert batch["input_ids"].shape[1] == tiny.spec.max_length
    assert batch["input_ids"][0, -1].item() == tiny.tokenizer.eos_token_id
    assert tiny.encode_passages(long_text).shape == (1, 32)


def test_queries_use_template_and_instruction(tiny: DecoderEncoder) -> None:
    direct = tiny.embed_batch([tiny.spec.format_query("gene cancer", "Given a claim")])
    via_api = tiny.encode_queries(["gene cancer"], instruction="Given a claim")
    np.testing.assert_allclose(via_api, direct, rtol=1e-5, atol=1e-6)


def test_dot_product_scoring(tiny: DecoderEncoder) -> None:
    q = tiny.encode_queries(["mice"])
    p = tiny.encode_passages(TEXTS)
    np.testing.assert_allclose(tiny.score(q, p), q @ p.T, rtol=1e-6)
    assert tiny.spec.similarity == "dot" and tiny.spec.normalize is False


def test_right_padding_tokenizer_with_pad_token(tmp_path: Path) -> None:
    folder = save_tiny_gpt_neox(tmp_path, pad="<pad>")
    encoder = load_encoder(str(folder), device="cpu", max_length=16, precision="fp32")
    assert encoder.tokenizer.padding_side == "right"  # type: ignore[attr-defined]
    expected = np.stack([reference(encoder, t) for t in TEXTS])  # type: ignore[arg-type]
    np.testing.assert_allclose(encoder.embed_batch(TEXTS), expected, rtol=1e-4, atol=1e-5)
