"""How a cross-encoder reads a (query, passage) pair: the same tokens in training and at search time.

- ``pair``: the tokenizer's own pair encoding (``[CLS] query [SEP] passage [SEP]`` for BERT-type
  models, which is how MS MARCO and MedCPT cross-encoders were trained); the passage is truncated first.
- ``prompt``: a decoder LM (SmolLM2, Pythia …) has no pair encoding, and its score head reads the last
  non-padding token. So the pair is written as ``query: …\\ndocument: …`` and closed by EOS, the query
  capped at a quarter of the window and the passage truncated so that EOS always survives: the token
  the score is read from is the same wherever the truncation falls.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

PairReading = Literal["pair", "prompt"]
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "\ndocument: "


def reading_of(tokenizer: Any) -> PairReading:
    """``pair`` for tokenizers that join two texts with a separator (encoder-only models), else ``prompt``."""
    return "pair" if getattr(tokenizer, "sep_token", None) else "prompt"


def encode_pairs(tokenizer: Any, queries: list[str], passages: list[str], max_length: int,
                 reading: PairReading) -> dict[str, torch.Tensor]:
    """Token ids and attention mask of the pairs, right-padded, at most ``max_length`` tokens each."""
    if reading == "pair":
        return dict(tokenizer(queries, passages, padding=True, truncation="longest_first",
                              max_length=max_length, return_tensors="pt"))
    query_ids = tokenizer([QUERY_PREFIX + q for q in queries], add_special_tokens=False)["input_ids"]
    passage_ids = tokenizer([PASSAGE_PREFIX + p for p in passages], add_special_tokens=False)["input_ids"]
    rows = []
    for q, p in zip(query_ids, passage_ids):
        q = q[: max(1, max_length // 4)]
        rows.append(q + p[: max(0, max_length - 1 - len(q))] + [tokenizer.eos_token_id])
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def prepare_reading(tokenizer: Any, model: Any, reading: PairReading | None = None) -> PairReading:
    """How ``model`` reads pairs (``reading`` when recorded, else what its tokenizer implies), with a
    decoder's padding made distinct from EOS."""
    reading = reading or reading_of(tokenizer)
    if reading == "prompt":
        distinct_pad(tokenizer, model)
    return reading


def distinct_pad(tokenizer: Any, model: Any) -> None:
    """Give a decoder a padding token other than EOS (its score is read at the last token that is not
    padding; were EOS the padding, that would be the token before it). The unknown token serves, so the
    vocabulary and embeddings stay as they are."""
    if tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        model.config.pad_token_id = tokenizer.pad_token_id
        return
    if tokenizer.unk_token_id is None or tokenizer.unk_token_id == tokenizer.eos_token_id:
        raise ValueError("this decoder's tokenizer has no token to pad with besides EOS")
    tokenizer.pad_token = tokenizer.unk_token
    model.config.pad_token_id = tokenizer.unk_token_id
