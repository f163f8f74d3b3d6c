"""Long documents as passages: token windows, max-passage scores, the layout record, and the splitter on
MiniLM's real tokenizer."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hybrid.documents import Document
from hybrid.index_meta import IndexMeta
from hybrid.passages import (
    DocumentVectors,
    PassageLayout,
    PassageSplitter,
    best_row,
    document_maxima,
    encoder_layout,
    grouped,
    passage_texts,
    token_windows,
)
from hybrid.recipes import Fingerprint, bmretriever_spec, passage_text
from hybrid.recipes.errors import EncoderError


def _offsets(words: list[str]) -> tuple[str, list[tuple[int, int]]]:
    text, offsets = "", []
    for word in words:
        offsets.append((len(text), len(text) + len(word)))
        text += word + " "
    return text.rstrip(), offsets


def test_token_windows_step_by_room_minus_overlap_and_cover_the_text() -> None:
    text, offsets = _offsets([f"w{i}" for i in range(10)])
    spans = token_windows(offsets, room=4, overlap=1, text_length=len(text))
    # Windows start at tokens 0, 3, 6 (step 4 - 1); the last reaches the end of the text.
    assert [text[a:b] for a, b in spans] == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert token_windows(offsets, room=10, overlap=3, text_length=len(text)) == [(0, len(text))]
    no_overlap = token_windows(offsets, room=5, overlap=0, text_length=len(text))
    assert [text[a:b] for a, b in no_overlap] == ["w0 w1 w2 w3 w4", "w5 w6 w7 w8 w9"]
    with pytest.raises(ValueError):
        token_windows(offsets, room=0, overlap=0, text_length=len(text))


def test_best_passage_is_the_maximum_of_each_document_and_its_first_row() -> None:
    scores = np.array([0.1, 0.7, 0.7, 0.2, 0.9, 0.3, 0.3], dtype=np.float64)
    bounds = np.array([0, 3, 4, 7])  # doc 0: rows 0-2, doc 1: row 3, doc 2: rows 4-6
    best, rows = document_maxima(scores, bounds), [best_row(scores, bounds, d) for d in range(3)]
    assert best.tolist() == [0.7, 0.2, 0.9] and rows == [1, 3, 4]


def test_layout_is_recorded_with_the_index_and_validated() -> None:
    fingerprint = Fingerprint.of(bmretriever_spec("m"), weights="w", dimension=3)
    meta = IndexMeta(fingerprint, passages=PassageLayout(256, 64))
    assert IndexMeta.from_block(meta.to_block(), "x").passages == PassageLayout(256, 64)
    assert IndexMeta.from_block(IndexMeta(fingerprint).to_block(), "x").passages is None  # one vector per document
    stored = IndexMeta(fingerprint, passages=PassageLayout(128, 32))
    assert IndexMeta(fingerprint, passages=PassageLayout(256, 64)).continuing(stored).passages == PassageLayout(128, 32)
    with pytest.raises(ValueError, match="overlap"):
        PassageLayout(256, 200)
    with pytest.raises(ValueError, match="too small"):
        PassageLayout(8, 0)


def test_grouping_passage_vectors_back_per_document() -> None:
    docs = [Document("a", "T", "one two"), Document("b", "", "three")]
    spans = [((0, 3), (4, 7)), ((0, 5),)]
    assert passage_texts(docs, spans) == ["T one", "T two", "three"]
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = grouped(spans, vectors)
    assert out[0].spans == ((0, 3), (4, 7)) and out[0].vectors.tolist() == [[0, 1], [2, 3]]
    assert out[1].vectors.tolist() == [[4, 5]]
    with pytest.raises(ValueError):
        grouped(spans, vectors[:2])
    assert DocumentVectors.whole("abc", np.ones(2)).spans == ((0, 3),)


def test_minilm_splitter_keeps_every_passage_inside_the_window(minilm) -> None:  # type: ignore[no-untyped-def]
    layout = encoder_layout(minilm)
    assert layout == PassageLayout(256, 64)  # MiniLM reads 256 tokens; a quarter of them overlap
    sentence = "Statins lower LDL cholesterol and reduce cardiovascular events in high-risk adults. "
    long_doc = Document("long", "Statin therapy", sentence * 60)
    short_doc = Document("short", "Aspirin", "Aspirin prevents some strokes.")
    splitter = PassageSplitter(minilm, layout)
    long_spans, short_spans = splitter.split([long_doc, short_doc])
    assert short_spans == ((0, len(short_doc.text)),)
    assert len(long_spans) > 4 and long_spans[0][0] == 0 and long_spans[-1][1] == len(long_doc.text)
    tokenizer = minilm.text_tokenizer
    for a, b in long_spans:
        assert len(tokenizer(passage_text(long_doc.title, long_doc.text[a:b]))["input_ids"]) <= 256
    for (_, end), (start, _) in zip(long_spans, long_spans[1:]):
        shared = len(tokenizer(long_doc.text[start:end], add_special_tokens=False)["input_ids"])
        assert 60 <= shared <= 68  # the overlap, give or take a token merged at an edge


def test_a_document_that_fits_the_window_exactly_is_not_split(minilm) -> None:  # type: ignore[no-untyped-def]
    layout = encoder_layout(minilm)
    tokenizer = minilm.text_tokenizer
    title = "Statin therapy"
    spent = len(tokenizer(minilm.spec.format_passage(passage_text(title, "")))["input_ids"])
    # One-token words: the text is exactly as many tokens as there are words.
    for words in (layout.window - spent, layout.window - spent - 1):
        doc = Document("edge", title, " ".join(["cells"] * words))
        assert len(tokenizer(minilm.spec.format_passage(passage_text(title, doc.text)))["input_ids"]) <= 256
        assert PassageSplitter(minilm, layout).split([doc]) == [((0, len(doc.text)),)]
    over = Document("over", title, " ".join(["cells"] * (layout.window - spent + 1)))
    assert len(PassageSplitter(minilm, layout).split([over])[0]) == 2


def test_an_encoder_without_a_fast_tokenizer_cannot_split() -> None:
    slow = SimpleNamespace(text_tokenizer=SimpleNamespace(is_fast=False), spec=SimpleNamespace(model_id="m"))
    with pytest.raises(EncoderError, match="fast"):
        PassageSplitter(slow, PassageLayout(64, 16))  # type: ignore[arg-type]
