"""Retrievers: BM25, dense, and hybrid built from the two, all behind one protocol.

Each returns a ranked list of ``Hit`` (without document bodies; the searcher fetches those for
the page it returns). The hybrid retriever fuses the two sides' runs with ``fusion.fuse``; on a
backend that can answer both sides at once (OpenSearch ``_msearch``) it asks once.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from hybrid.retrieval.fusion import Run, fuse
from hybrid.retrieval.request import Filter, FusionConfig
from hybrid.retrieval.types import Hit, SearchBackend


class Retriever(Protocol):
    def retrieve(self, query: str, vector: np.ndarray | None, size: int, filters: tuple[Filter, ...]) -> list[Hit]: ...


def single_hits(run: Run, side: str) -> list[Hit]:
    hits = []
    for rank, (doc_id, score) in enumerate(run, start=1):
        per_side = {f"{side}_rank": rank, f"{side}_score": score}
        hits.append(Hit(doc_id, score, rank, (side,), **per_side))  # type: ignore[arg-type]
    return hits


class BM25Retriever:
    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    def retrieve(self, query: str, vector: np.ndarray | None, size: int, filters: tuple[Filter, ...]) -> list[Hit]:
        return single_hits(self.backend.lexical(query, size, filters), "bm25")


class DenseRetriever:
    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    def retrieve(self, query: str, vector: np.ndarray | None, size: int, filters: tuple[Filter, ...]) -> list[Hit]:
        if vector is None:
            raise ValueError("dense retrieval needs the query embedding")
        return single_hits(self.backend.dense(vector, size, filters), "dense")


def fused_hits(lexical: Run, dense: Run, fusion: FusionConfig, window: int) -> list[Hit]:
    """Fuse the two sides' runs into ranked hits that carry each side's rank and score (pure)."""
    fused = fuse(
        [lexical, dense],
        method=fusion.method,
        k=fusion.rank_constant,
        weights=[fusion.bm25_weight, fusion.dense_weight],
        window=window,
    )
    hits = []
    for rank, f in enumerate(fused, start=1):
        found_by = tuple(side for side, r in zip(("bm25", "dense"), f.ranks) if r is not None)
        hits.append(Hit(f.doc_id, f.score, rank, found_by, f.ranks[0], f.scores[0], f.ranks[1], f.scores[1]))
    return hits


def ranked_hits(mode: str, lexical: Run | None, dense: Run | None, fusion: FusionConfig, depth: int) -> list[Hit]:
    """The mode's ranked hits from whichever runs it needs (shared by the sync and async searchers)."""
    if mode == "bm25":
        return single_hits(lexical or [], "bm25")
    if mode == "dense":
        return single_hits(dense or [], "dense")
    return fused_hits(lexical or [], dense or [], fusion, depth)


class HybridRetriever:
    """Fuses a BM25 and a dense retriever over the same backend."""

    def __init__(self, lexical: BM25Retriever, dense: DenseRetriever, fusion: FusionConfig) -> None:
        self.lexical = lexical
        self.dense = dense
        self.fusion = fusion

    def runs(self, query: str, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> tuple[Run, Run]:
        if self.lexical.backend is self.dense.backend:
            return self.lexical.backend.both(query, vector, size, filters)
        return self.lexical.backend.lexical(query, size, filters), self.dense.backend.dense(vector, size, filters)

    def retrieve(self, query: str, vector: np.ndarray | None, size: int, filters: tuple[Filter, ...]) -> list[Hit]:
        if vector is None:
            raise ValueError("hybrid retrieval needs the query embedding")
        lexical, dense = self.runs(query, vector, size, filters)
        # The request depth is the fusion window, widened to reach the requested page.
        return fused_hits(lexical, dense, self.fusion, size)
