"""Fusion of ranked lists: pure functions, table-driven, ties broken deterministically.

A *ranked list* is one retriever's ``(doc_id, score)`` pairs, best first. Fusion ranks are global:
they are computed here, over the merged top lists, never per shard. Each list takes part whole; the
caller decides how deep each side is (its window).

Methods:

``rrf`` — reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009)::

    score(d) = Σ_r  w_r / (k + rank_r(d))      ranks from 1; a list that misses d adds nothing

``minmax`` — score fusion after min-max normalisation of each list (Lee 1997; Fox & Shaw 1994)::

    norm_r(d) = (s_r(d) - min_r) / (max_r - min_r)     (1.0 for every hit when max_r == min_r)
    score(d)  = Σ_r  w_r · norm_r(d)                    (a list that misses d adds 0)

``zscore`` — score fusion after z-score normalisation (Montague & Aslam, CIKM 2001)::

    norm_r(d) = (s_r(d) - mean_r) / std_r               (0.0 for every hit when std_r == 0)
    score(d)  = Σ_r  w_r · norm_r(d)                    (a list that misses d adds min_r's z-score)

``dbsf`` — distribution-based score fusion (as in Qdrant): each list mapped through mean ± 3σ::

    norm_r(d) = (s_r(d) - (mean_r - 3 std_r)) / (6 std_r)   (0.5 for every hit when std_r == 0)
    score(d)  = Σ_r  w_r · norm_r(d)                         (a list that misses d adds 0)

Ties in the fused score are broken by the best rank the document had in any list, then by document
id, so the order never depends on dictionary or thread order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

RankedList = Sequence[tuple[str, float]]
# "adaptive" is DBSF with each side's weight scaled by the index's calibration (the search pipeline
# resolves it: ``hybrid.retrieval.calibration``); ``fuse`` itself takes the four methods above it.
FusionMethod = Literal["rrf", "minmax", "zscore", "dbsf", "adaptive"]
FUSION_METHODS: tuple[FusionMethod, ...] = ("rrf", "minmax", "zscore", "dbsf", "adaptive")


@dataclass(frozen=True, slots=True)
class FusedHit:
    doc_id: str
    score: float
    ranks: tuple[int | None, ...]  # 1-based rank in each list (None: not in that list)
    scores: tuple[float | None, ...]  # raw score in each list
    normalized: tuple[float | None, ...] = ()  # each list's value before weighting (RRF: 1 / (k + rank))


def rrf_contributions(ranked: RankedList, k: float) -> dict[str, float]:
    """``1 / (k + rank)`` for each document of one list."""
    return {doc_id: 1.0 / (k + rank) for rank, (doc_id, _) in enumerate(ranked, start=1)}


def minmax_normalize(ranked: RankedList) -> dict[str, float]:
    if not ranked:
        return {}
    scores = [s for _, s in ranked]
    low, high = min(scores), max(scores)
    if high == low:
        return {doc_id: 1.0 for doc_id, _ in ranked}
    return {doc_id: (s - low) / (high - low) for doc_id, s in ranked}


def _mean_std(ranked: RankedList) -> tuple[float, float]:
    scores = [s for _, s in ranked]
    mean = sum(scores) / len(scores)
    return mean, math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))


def zscore_normalize(ranked: RankedList) -> dict[str, float]:
    if not ranked:
        return {}
    mean, std = _mean_std(ranked)
    if std == 0:
        return {doc_id: 0.0 for doc_id, _ in ranked}
    return {doc_id: (s - mean) / std for doc_id, s in ranked}


def dbsf_normalize(ranked: RankedList) -> dict[str, float]:
    if not ranked:
        return {}
    mean, std = _mean_std(ranked)
    if std == 0:
        return {doc_id: 0.5 for doc_id, _ in ranked}
    low = mean - 3 * std
    return {doc_id: (s - low) / (6 * std) for doc_id, s in ranked}


def _missing_value(method: FusionMethod, normalized: Mapping[str, float]) -> float:
    # z-scores can be negative, so "absent" must not outrank "present but low": use the list's minimum.
    return min(normalized.values(), default=0.0) if method == "zscore" else 0.0


_NORMALIZERS: dict[FusionMethod, Callable[[RankedList, float], dict[str, float]]] = {
    "rrf": rrf_contributions,
    "minmax": lambda ranked, _k: minmax_normalize(ranked),
    "zscore": lambda ranked, _k: zscore_normalize(ranked),
    "dbsf": lambda ranked, _k: dbsf_normalize(ranked),
}


def fuse(
    lists: Sequence[RankedList],
    *,
    method: FusionMethod = "rrf",
    k: float = 60,
    weights: Sequence[float] | None = None,
) -> list[FusedHit]:
    """Fuse ranked lists into one ranked list (see the module docstring for the formulas).

    Args:
        lists: each ``(doc_id, score)`` pairs, best first, ids unique within a list.
        method: ``rrf``, ``minmax``, ``zscore`` or ``dbsf``.
        k: the RRF rank constant (ignored by the score methods).
        weights: one per list (default all 1.0).
    """
    if method not in _NORMALIZERS:
        raise ValueError(f"unknown fusion method {method!r}; choose one of {', '.join(_NORMALIZERS)}")
    if weights is None:
        weights = [1.0] * len(lists)
    if len(weights) != len(lists):
        raise ValueError(f"{len(weights)} weights for {len(lists)} lists")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    if k < 0:
        raise ValueError("the rank constant k must be >= 0")
    contributions = [_NORMALIZERS[method](ranked, k) for ranked in lists]
    missing = [_missing_value(method, c) for c in contributions]
    count = len(lists)
    ranks: dict[str, list[int | None]] = {}
    raw: dict[str, list[float | None]] = {}
    for i, ranked in enumerate(lists):
        for rank, (doc_id, score) in enumerate(ranked, start=1):
            if doc_id not in ranks:
                ranks[doc_id] = [None] * count
                raw[doc_id] = [None] * count
            ranks[doc_id][i] = rank
            raw[doc_id][i] = score
    totals: dict[str, float] = {}
    for doc_id in ranks:
        total = 0.0
        for weight, contribution, miss in zip(weights, contributions, missing):
            total += weight * contribution.get(doc_id, miss)
        totals[doc_id] = total
    order = sorted(totals, key=lambda d: (-totals[d], min(r for r in ranks[d] if r is not None), d))
    return [FusedHit(d, totals[d], tuple(ranks[d]), tuple(raw[d]), tuple(c.get(d) for c in contributions))
            for d in order]
