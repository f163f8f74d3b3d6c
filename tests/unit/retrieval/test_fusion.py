"""Fusion against hand-computed values: the formulas written out."""

from __future__ import annotations

import math

import pytest

from hybrid.retrieval.fusion import dbsf_normalize, fuse, minmax_normalize, zscore_normalize

BM25 = [("a", 12.0), ("b", 9.0), ("c", 3.0)]
DENSE = [("c", 0.9), ("a", 0.8), ("d", 0.5)]


def _scores(hits):  # type: ignore[no-untyped-def]
    return {h.doc_id: h.score for h in hits}


def test_rrf_formula_with_documents_in_one_list_only() -> None:
    fused = fuse([BM25, DENSE], method="rrf", k=60)
    expected = {
        "a": 1 / (60 + 1) + 1 / (60 + 2),
        "b": 1 / (60 + 2),
        "c": 1 / (60 + 3) + 1 / (60 + 1),
        "d": 1 / (60 + 3),
    }
    assert _scores(fused) == pytest.approx(expected)
    assert [h.doc_id for h in fused] == ["a", "c", "b", "d"]
    a = fused[0]
    assert a.ranks == (1, 2) and a.scores == (12.0, 0.8)
    assert next(h for h in fused if h.doc_id == "d").ranks == (None, 3)


def test_rrf_weights_and_rank_constant() -> None:
    fused = fuse([BM25, DENSE], method="rrf", k=10, weights=[0.5, 2.0])
    assert _scores(fused)["c"] == pytest.approx(0.5 / (10 + 3) + 2.0 / (10 + 1))
    assert _scores(fused)["b"] == pytest.approx(0.5 / (10 + 2))


def test_ties_broken_by_best_rank_then_id() -> None:
    # x and y tie on RRF score (rank 1 in one list each); z and w tie with equal ranks -> by id.
    fused = fuse([[("y", 1.0), ("z", 0.5)], [("x", 1.0), ("w", 0.5)]], method="rrf", k=60)
    assert [h.doc_id for h in fused] == ["x", "y", "w", "z"]
    assert fused[0].score == fused[1].score


def test_minmax_formula() -> None:
    assert minmax_normalize(BM25) == pytest.approx({"a": 1.0, "b": (9 - 3) / (12 - 3), "c": 0.0})
    fused = fuse([BM25, DENSE], method="minmax", weights=[0.3, 0.7])
    norm_dense = {"c": 1.0, "a": (0.8 - 0.5) / (0.9 - 0.5), "d": 0.0}
    assert _scores(fused) == pytest.approx({
        "a": 0.3 * 1.0 + 0.7 * norm_dense["a"],
        "b": 0.3 * (6 / 9),
        "c": 0.3 * 0.0 + 0.7 * 1.0,
        "d": 0.0,
    })


def test_zero_range_guards() -> None:
    assert minmax_normalize([("a", 2.0), ("b", 2.0)]) == {"a": 1.0, "b": 1.0}
    assert zscore_normalize([("a", 2.0), ("b", 2.0)]) == {"a": 0.0, "b": 0.0}
    assert dbsf_normalize([("a", 2.0), ("b", 2.0)]) == {"a": 0.5, "b": 0.5}
    assert fuse([[], []]) == []


def test_zscore_formula_and_missing_documents() -> None:
    mean = (12 + 9 + 3) / 3
    std = math.sqrt(((12 - mean) ** 2 + (9 - mean) ** 2 + (3 - mean) ** 2) / 3)
    z_bm25 = {d: (s - mean) / std for d, s in BM25}
    dmean = (0.9 + 0.8 + 0.5) / 3
    dstd = math.sqrt(((0.9 - dmean) ** 2 + (0.8 - dmean) ** 2 + (0.5 - dmean) ** 2) / 3)
    z_dense = {d: (s - dmean) / dstd for d, s in DENSE}
    fused = _scores(fuse([BM25, DENSE], method="zscore"))
    assert fused["a"] == pytest.approx(z_bm25["a"] + z_dense["a"])
    assert fused["b"] == pytest.approx(z_bm25["b"] + min(z_dense.values()))  # absent from dense
    assert fused["d"] == pytest.approx(min(z_bm25.values()) + z_dense["d"])  # absent from bm25


def test_dbsf_maps_each_list_through_mean_plus_minus_three_sigma() -> None:
    def normalized(ranked):  # type: ignore[no-untyped-def]
        scores = [s for _, s in ranked]
        mean = sum(scores) / 3
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / 3)
        return {d: (s - (mean - 3 * std)) / (6 * std) for d, s in ranked}

    bm25, dense = normalized(BM25), normalized(DENSE)
    assert all(0 < v < 1 for v in [*bm25.values(), *dense.values()])  # three hits lie within 3 sigma
    fused = fuse([BM25, DENSE], method="dbsf", weights=[1.0, 2.0])
    assert _scores(fused) == pytest.approx({
        "a": bm25["a"] + 2 * dense["a"], "b": bm25["b"], "c": bm25["c"] + 2 * dense["c"], "d": 2 * dense["d"]})
    assert [h.doc_id for h in fused] == sorted("abcd", key=lambda d: -_scores(fused)[d])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown fusion method"):
        fuse([BM25], method="borda")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 weights for 1 lists"):
        fuse([BM25], weights=[1, 1])
    with pytest.raises(ValueError, match="weights must be >= 0"):
        fuse([BM25], weights=[-1])
    with pytest.raises(ValueError, match="rank constant"):
        fuse([BM25], k=-1)
