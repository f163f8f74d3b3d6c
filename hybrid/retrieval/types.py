"""One result type for every mode and backend, and the sub-queries a backend answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np

from hybrid.documents import Metadata
from hybrid.retrieval.facets import FacetCounts
from hybrid.retrieval.highlight import Highlight, Span
from hybrid.retrieval.request import Filter, Mode

Side = Literal["bm25", "dense"]
SIDES: tuple[Side, ...] = ("bm25", "dense")


class Hit(NamedTuple):
    """A ranked document: the mode's score, which sides found it, and each side's rank and score.

    Immutable; a NamedTuple rather than a frozen dataclass because fusion builds hundreds per query
    and a tuple is several times cheaper to create.
    """

    doc_id: str
    score: float
    rank: int
    found_by: tuple[str, ...]
    bm25_rank: int | None = None
    bm25_score: float | None = None
    dense_rank: int | None = None
    dense_score: float | None = None
    # Hybrid mode: each side's value after the fusion's normalisation, before its weight (None: not found).
    bm25_norm: float | None = None
    dense_norm: float | None = None
    rerank_score: float | None = None  # the cross-encoder's score, for hits inside the rerank window
    title: str = ""
    text: str = ""
    metadata: Mapping[str, object] = MappingProxyType({})
    highlight: Highlight | None = None  # with a request's ``highlight``: marked words and the snippet
    # An index of passages: the character span of ``text`` whose passage the dense side scored best.
    passage: Span | None = None


class PassageMatches(list[tuple[str, float]]):
    """The dense side's ranked list from an index of passages: ``passages`` holds the character span of
    each document's best passage, the one that scored it."""

    def __init__(self, ranked: list[tuple[str, float]], passages: Mapping[str, Span]) -> None:
        super().__init__(ranked)
        self.passages = passages


def matched_passages(ranked: object) -> Mapping[str, Span]:
    """The best passage of each document of a ranked list (empty for a list without passages)."""
    return getattr(ranked, "passages", None) or {}


class ShardShortfall(PassageMatches):
    """A side's ranked list to which some of the index's shards did not contribute (they failed or
    were unavailable): the documents on them are missing from it. ``warning`` says how many and why."""

    def __init__(self, ranked: list[tuple[str, float]], warning: str) -> None:
        super().__init__(ranked, matched_passages(ranked))
        self.warning = warning


def shortfall_warnings(lists: object) -> tuple[str, ...]:
    """The warnings of the lists that some shards did not contribute to."""
    return tuple(dict.fromkeys(r.warning for r in lists if isinstance(r, ShardShortfall)))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SearchResponse:
    index: str
    mode: Mode
    hits: tuple[Hit, ...]
    offset: int
    candidates: int  # length of the ranked list the page was cut from
    took_ms: float
    fusion: AppliedFusion | None = None  # hybrid mode: how the two sides were combined for this query
    facets: FacetCounts | None = None  # counts over the ranked list, when the request named facet fields
    warnings: tuple[str, ...] = ()  # the results are partial: shards that did not answer, and why
    reranker: str | None = None  # the cross-encoder that reordered the top of the list (name and fingerprint)


@dataclass(frozen=True)
class AppliedFusion:
    """The fusion a hybrid search ran: the method and each side's weight as applied (for adaptive
    fusion, the configured weight times the index's calibration weight)."""

    method: str
    bm25_weight: float
    dense_weight: float


@dataclass(frozen=True)
class StoredDocument:
    title: str
    text: str
    metadata: Metadata


@dataclass(frozen=True)
class BM25Query:
    """The lexical side: BM25 over title and text, ``size`` hits, filters applied."""

    text: str
    size: int
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True, eq=False)
class KnnQuery:
    """The dense side: the ``size`` nearest neighbours of ``vector`` among the documents the filters keep."""

    vector: np.ndarray
    size: int
    filters: tuple[Filter, ...] = ()
    ef_search: int | None = None  # HNSW candidate list size (None: the engine's default); exact backends ignore it


SideQuery = BM25Query | KnnQuery


def lucene_dense_score(similarity: np.ndarray, space: str) -> np.ndarray:
    """The score OpenSearch's Lucene engine reports for a raw similarity: cosine ``(1 + cos) / 2``;
    inner product ``ip + 1`` if ``ip > 0`` else ``1 / (1 - ip)``."""
    if space == "cosine":
        return (1.0 + similarity) / 2.0
    return np.where(similarity > 0, similarity + 1.0, 1.0 / (1.0 - np.minimum(similarity, 0.0)))
