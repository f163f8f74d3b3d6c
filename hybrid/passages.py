"""Long documents as passages: a document longer than the encoder's window is split into overlapping,
token-based passages (by the encoder's own tokenizer), each embedded on its own; the document's dense
score is its best passage's (max-passage), and a hit says which passage matched.

A passage is a character span of the document's text; each is embedded with the title in front, as the
whole document would be. A document that fits the window is one passage: the whole text, embedded
exactly as an index without passages embeds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hybrid.documents import Document
from hybrid.recipes import passage_text
from hybrid.recipes.errors import EncoderError

if TYPE_CHECKING:
    from hybrid.encoders import Encoder

Span = tuple[int, int]
# Tokens kept free of the window: a passage re-tokenised on its own can merge differently at its edges.
EDGE_MARGIN = 2
# The title (and template) take at most this share of the window; a longer title leaves the passage
# this much room and the encoder truncates the end of the title + passage text.
MAX_TITLE_SHARE = 0.5


@dataclass(frozen=True)
class PassageLayout:
    """How an index splits documents: at most ``window`` tokens per embedded text (template, title and
    passage), consecutive passages sharing ``overlap`` tokens."""

    window: int
    overlap: int

    def __post_init__(self) -> None:
        if self.window < 16:
            raise ValueError(f"a passage window of {self.window} tokens is too small (16 at least)")
        if not 0 <= self.overlap <= self.window // 2:
            raise ValueError(f"passage overlap {self.overlap}: it must be 0..{self.window // 2} (half the window)")

    def to_block(self) -> dict[str, object]:
        return {"window": self.window, "overlap": self.overlap}

    @classmethod
    def from_block(cls, block: Mapping[str, object] | None) -> PassageLayout | None:
        if not block:
            return None
        return cls(int(block["window"]), int(block["overlap"]))  # type: ignore[call-overload]


def default_overlap(window: int) -> int:
    """A quarter of the window: a sentence cut at one passage's end is whole in the next."""
    return window // 4


@dataclass(frozen=True)
class DocumentVectors:
    """A document's passages: character spans of its text and one vector per span, in text order."""

    spans: tuple[Span, ...]
    vectors: np.ndarray  # (len(spans), dimension) float32

    @classmethod
    def whole(cls, text: str, vector: np.ndarray) -> DocumentVectors:
        return cls(((0, len(text)),), np.asarray(vector, dtype=np.float32).reshape(1, -1))


def token_windows(offsets: Sequence[Span], room: int, overlap: int, text_length: int) -> list[Span]:
    """Character spans of consecutive windows of ``room`` tokens, each starting ``room - overlap``
    tokens after the previous, from the tokens' character ``offsets``; the first starts at 0 and the
    last ends at ``text_length``, so together they cover the whole text."""
    if room < 1:
        raise ValueError("a passage needs room for at least one token")
    if len(offsets) <= room:
        return [(0, text_length)]
    step = max(1, room - min(overlap, room - 1))
    spans: list[Span] = []
    start = 0
    while True:
        end = min(start + room, len(offsets))
        last = end == len(offsets)
        spans.append((0 if start == 0 else offsets[start][0], text_length if last else offsets[end - 1][1]))
        if last:
            return spans
        start += step


class PassageSplitter:
    """Splits documents for one encoder: its tokenizer counts tokens, its window and passage template
    bound them."""

    def __init__(self, encoder: Encoder, layout: PassageLayout) -> None:
        tokenizer = encoder.text_tokenizer
        if tokenizer is None or not getattr(tokenizer, "is_fast", False):
            raise EncoderError(f"{encoder.spec.model_id}: splitting documents into passages needs the encoder's fast "
                               "(Rust) tokenizer for character offsets; ingest with --no-passages")
        self.encoder, self.layout, self.tokenizer = encoder, layout, tokenizer

    def _counts(self, texts: list[str], *, special: bool) -> list[int]:
        encoded = self.tokenizer(texts, add_special_tokens=special, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def _fits_whole(self, doc: Document) -> bool:
        """Whether the document's whole embedded text (template, title, text) fits the window, counted exactly."""
        text = self.encoder.spec.format_passage(passage_text(doc.title, doc.text))
        return self._counts([text], special=True)[0] <= self.layout.window

    def split(self, docs: Sequence[Document]) -> list[tuple[Span, ...]]:
        """Each document's passage spans (one tokenizer call per batch for texts, one for titles)."""
        if not docs:
            return []
        encoded = self.tokenizer([d.text for d in docs], add_special_tokens=False, return_offsets_mapping=True,
                                 verbose=False)
        # What each embedded text spends besides its passage: template, title, special tokens.
        fixed = self._counts([self.encoder.spec.format_passage(passage_text(d.title, "")) for d in docs], special=True)
        floor = int(self.layout.window * (1 - MAX_TITLE_SHARE))
        out = []
        for doc, offsets, spent in zip(docs, encoded["offset_mapping"], fixed):
            room = max(floor, self.layout.window - spent - EDGE_MARGIN)
            if room < len(offsets) <= self.layout.window - spent and self._fits_whole(doc):
                out.append(((0, len(doc.text)),))  # within the edge margin, but the whole text fits: no split
                continue
            out.append(tuple(token_windows([tuple(o) for o in offsets], room, self.layout.overlap, len(doc.text))))
        return out


def passage_texts(docs: Sequence[Document], spans: Sequence[Sequence[Span]]) -> list[str]:
    """The texts to embed, in order: each passage with its document's title in front."""
    return [passage_text(d.title, d.text[a:b]) for d, doc_spans in zip(docs, spans) for a, b in doc_spans]


def grouped(spans: Sequence[Sequence[Span]], vectors: np.ndarray) -> list[DocumentVectors]:
    """``passage_texts``' embeddings, back per document."""
    out, row = [], 0
    for doc_spans in spans:
        out.append(DocumentVectors(tuple(doc_spans), vectors[row : row + len(doc_spans)]))
        row += len(doc_spans)
    if row != len(vectors):
        raise ValueError(f"{len(vectors)} vectors for {row} passages")
    return out


def encoder_layout(encoder: Encoder, overlap: int | None = None) -> PassageLayout | None:
    """The layout of a new index for ``encoder``: its window (None when the encoder counts no tokens)."""
    window = encoder.window_tokens
    if window is None:
        return None
    return PassageLayout(window, default_overlap(window) if overlap is None else overlap)


def document_maxima(scores: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Each document's best passage score, from per-passage ``scores`` and ``bounds`` (document i's
    passages are rows ``bounds[i]:bounds[i+1]``; each document has at least one)."""
    return np.maximum.reduceat(scores, bounds[:-1])


def best_row(scores: np.ndarray, bounds: np.ndarray, document: int) -> int:
    """The row of ``document``'s best passage (the first, on a tie); asked for the hits only, not per row."""
    start = int(bounds[document])
    return start + int(np.argmax(scores[start : int(bounds[document + 1])]))
