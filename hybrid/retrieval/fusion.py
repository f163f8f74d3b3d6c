"""Fusion of ranked lists: pure functions, table-driven, ties broken deterministically.

A *run* is one retriever's ranked list of ``(doc_id, score)`` pairs, best first. Fusion ranks are
global: they are computed here, over the merged top lists, never per shard.

Methods:

``rrf`` — reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009)::

    score(d) = Σ_r  w_r / (k + rank_r(d))      ranks from 1; a run that misses d adds nothing

``minmax`` — score fusion after min-max normalisation of each run (Lee 1997; Fox & Shaw 1994)::

    norm_r(d) = (s_r(d) - min_r) / (max_r - min_r)     (1.0 for every hit when max_r == min_r)
    score(d)  = Σ_r  w_r · norm_r(d)                    (a run that misses d adds 0)

``zscore`` — score fusion after z-score normalisation (Montague & Aslam, CIKM 2001)::

    norm_r(d) = (s_r(d) - mean_r) / std_r               (0.0 for every hit when std_r == 0)
    score(d)  = Σ_r  w_r · norm_r(d)                    (a run that misses d adds min_r's z-score)

Only the first ``window`` hits of each run take part (the rank window). Ties in the fused score are
broken by the best rank the document had in any run, then by document id, so the order never
depends on dictionary or thread order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Run = Sequence[tuple[str, float]]
FusionMethod = Literal["rrf", "minmax", "zscore"]
DEFAULT_RANK_CONSTANT = 60


@dataclass(frozen=True, slots=True)
class FusedHit:
    doc_id: str
    score: float
    ranks: tuple[int | None, ...]  # 1-based rank in each run (None: not in that run's window)
    scores: tuple[float | None, ...]  # raw score in each run


def _window(run: Run, window: int | None) -> Run:
    return run if window is None else run[:window]


def rrf_contributions(run: Run, k: float) -> dict[str, float]:
    """``1 / (k + rank)`` for each document of one run."""
    return {doc_id: 1.0 / (k + rank) for rank, (doc_id, _) in enumerate(run, start=1)}


def minmax_normalize(run: Run) -> dict[str, float]:
    if not run:
        return {}
    scores = [s for _, s in run]
    low, high = min(scores), max(scores)
    if high == low:
        return {doc_id: 1.0 for doc_id, _ in run}
    return {doc_id: (s - low) / (high - low) for doc_id, s in run}


def zscore_normalize(run: Run) -> dict[str, float]:
    if not run:
        return {}
    scores = [s for _, s in run]
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    if std == 0:
        return {doc_id: 0.0 for doc_id, _ in run}
    return {doc_id: (s - mean) / std for doc_id, s in run}


def _missing_value(method: FusionMethod, normalized: Mapping[str, float]) -> float:
    # z-scores can be negative, so "absent" must not outrank "present but low": use the run's minimum.
    return min(normalized.values(), default=0.0) if method == "zscore" else 0.0


_NORMALIZERS: dict[FusionMethod, Callable[[Run, float], dict[str, float]]] = {
    "rrf": rrf_contributions,
    "minmax": lambda run, _k: minmax_normalize(run),
    "zscore": lambda run, _k: zscore_normalize(run),
}


def fuse(
    runs: Sequence[Run],
    *,
    method: FusionMethod = "rrf",
    k: float = DEFAULT_RANK_CONSTANT,
    weights: Sequence[float] | None = None,
    window: int | None = None,
) -> list[FusedHit]:
    """Fuse ranked runs into one ranked list (see the module docstring for the formulas).

    Args:
        runs: each a ranked list of ``(doc_id, score)``, best first, ids unique within a run.
        method: ``rrf``, ``minmax`` or ``zscore``.
        k: the RRF rank constant (ignored by the score methods).
        weights: one per run (default all 1.0).
        window: how many top hits of each run take part (default all).
    """
    if method not in _NORMALIZERS:
        raise ValueError(f"unknown fusion method {method!r}; choose one of {', '.join(_NORMALIZERS)}")
    if weights is None:
        weights = [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError(f"{len(weights)} weights for {len(runs)} runs")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0")
    if k < 0:
        raise ValueError("the rank constant k must be >= 0")
    if window is not None and window < 1:
        raise ValueError("window must be >= 1")
    windows = [_window(run, window) for run in runs]
    contributions = [_NORMALIZERS[method](run, k) for run in windows]
    missing = [_missing_value(method, c) for c in contributions]
    count = len(windows)
    ranks: dict[str, list[int | None]] = {}
    raw: dict[str, list[float | None]] = {}
    for i, run in enumerate(windows):
        for rank, (doc_id, score) in enumerate(run, start=1):
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
    return [FusedHit(d, totals[d], tuple(ranks[d]), tuple(raw[d])) for d in order]
