"""One result type for every retriever and backend."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple, Protocol

import numpy as np

from hybrid.documents import Metadata, MetadataFields
from hybrid.encoders import Fingerprint
from hybrid.retrieval.fusion import Run
from hybrid.retrieval.request import Filter, Mode


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
    title: str = ""
    text: str = ""
    metadata: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True)
class SearchResponse:
    index: str
    mode: Mode
    hits: tuple[Hit, ...]
    offset: int
    candidates: int  # distinct documents the fusion (or the single side) ranked
    took_ms: float


@dataclass(frozen=True)
class StoredDocument:
    title: str
    text: str
    metadata: Metadata


class SearchBackend(Protocol):
    """Read side of a backend: the two sides' ranked runs, and documents by id.

    Dense scores follow OpenSearch's Lucene conventions on every backend (cosine: ``(1 + cos) / 2``;
    inner product: ``ip + 1`` if ``ip > 0`` else ``1 / (1 - ip)``), so runs are comparable.
    """

    def fingerprint(self) -> Fingerprint: ...

    def filterable_fields(self) -> MetadataFields: ...

    def lexical(self, query: str, size: int, filters: tuple[Filter, ...]) -> Run: ...

    def dense(self, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> Run: ...

    def both(self, query: str, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> tuple[Run, Run]:
        """Both runs; OpenSearch answers them in one ``_msearch`` round trip."""

    def lexical_many(self, queries: list[str], size: int) -> list[Run]:
        """BM25 runs for many queries (OpenSearch: one ``_msearch``); used to mine training negatives."""

    def fetch(self, ids: list[str]) -> dict[str, StoredDocument]: ...

    def documents(self) -> Iterator[tuple[str, StoredDocument]]:
        """Every document (id order on the embedded index, scroll order on OpenSearch); for training data."""

    def count(self) -> int: ...


def lucene_dense_score(similarity: np.ndarray, space: str) -> np.ndarray:
    """The score OpenSearch's Lucene engine reports for a raw similarity (DOMAIN.md §4)."""
    if space == "cosine":
        return (1.0 + similarity) / 2.0
    return np.where(similarity > 0, similarity + 1.0, 1.0 / (1.0 - np.minimum(similarity, 0.0)))
