"""How cross-encoders read a pair: the tokenizer's pair encoding, or a decoder's prompt closed by EOS."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.rerank.inputs import distinct_pad, encode_pairs, reading_of
from tests.unit.encoders.tiny_models import build_word_tokenizer, save_tiny_cross_encoder


@pytest.fixture(scope="module")
def words():  # type: ignore[no-untyped-def]
    tokenizer = build_word_tokenizer()

    class Config:
        pad_token_id = None

    class Model:
        config = Config()

    distinct_pad(tokenizer, Model())
    return tokenizer, Model.config


def test_a_decoder_pads_with_a_token_other_than_eos_so_the_score_is_read_at_eos(words) -> None:  # type: ignore[no-untyped-def]
    tokenizer, config = words
    assert reading_of(tokenizer) == "prompt"
    assert tokenizer.pad_token_id == config.pad_token_id == tokenizer.unk_token_id != tokenizer.eos_token_id


def test_a_prompt_keeps_eos_last_whatever_is_truncated() -> None:
    tokenizer = build_word_tokenizer(pad="<pad>")  # "document" is out of this vocabulary: [UNK], not padding
    long_passage = " ".join(["protein"] * 100)
    batch = encode_pairs(tokenizer, ["cell gene", " ".join(["mice"] * 40)], ["the study", long_passage], 16, "prompt")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert ids.shape == (2, 16)
    short = tokenizer("query: cell gene", add_special_tokens=False)["input_ids"] + \
        tokenizer("\ndocument: the study", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert ids[0, : len(short)].tolist() == short and mask[0].sum() == len(short)
    assert (ids[0, len(short):] == tokenizer.pad_token_id).all()
    # the long query is capped at a quarter of the window, the passage fills the rest, EOS closes it
    assert mask[1].sum() == 16 and ids[1, -1] == tokenizer.eos_token_id
    assert ids[1, :4].tolist() == tokenizer("query: mice mice", add_special_tokens=False)["input_ids"][:4]
    assert (ids[1, 4:] != tokenizer.pad_token_id).all()


def test_an_encoder_reads_the_pair_as_its_tokenizer_joins_it(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(save_tiny_cross_encoder(tmp_path / "ce"))
    assert reading_of(tokenizer) == "pair"
    batch = encode_pairs(tokenizer, ["statins"], ["lower cholesterol"], 32, "pair")
    assert batch["input_ids"][0].tolist() == tokenizer("statins", "lower cholesterol")["input_ids"]
