"""The pure search steps: planning, the one mode dispatch, paging and the response, with expected values
from the definitions (RRF: 1 / (k + rank))."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hybrid.index_meta import IndexMeta
from hybrid.recipes import BMRETRIEVER_INSTRUCTIONS, Fingerprint, FingerprintMismatchError, bmretriever_spec
from hybrid.retrieval import (
    BadRequestError,
    BM25Query,
    FusionConfig,
    KnnQuery,
    SearchRequest,
    StoredDocument,
    plan_search,
    rank_hits,
)

BM25 = [("a", 9.0), ("b", 7.0), ("c", 5.0), ("e", 1.0)]
DENSE = [("c", 0.9), ("d", 0.8), ("a", 0.7)]
FINGERPRINT = Fingerprint.of(bmretriever_spec("m"), weights="w", dimension=2)
META = IndexMeta(FINGERPRINT, {"year": "integer"})


def test_single_modes_keep_their_side_as_it_is() -> None:
    hits = rank_hits("bm25", {"bm25": BM25}, FusionConfig())
    assert [(h.doc_id, h.rank, h.score, h.found_by) for h in hits] == [
        ("a", 1, 9.0, ("bm25",)), ("b", 2, 7.0, ("bm25",)), ("c", 3, 5.0, ("bm25",)), ("e", 4, 1.0, ("bm25",))]
    assert hits[0].bm25_rank == 1 and hits[0].dense_rank is None
    dense = rank_hits("dense", {"dense": DENSE}, FusionConfig())
    assert [h.doc_id for h in dense] == ["c", "d", "a"] and dense[1].dense_score == 0.8


def test_hybrid_is_rrf_of_both_sides_cut_to_their_windows() -> None:
    fusion = FusionConfig("rrf", bm25_window=3, dense_window=2, rank_constant=10)
    hits = rank_hits("hybrid", {"bm25": BM25, "dense": DENSE}, fusion)
    expected = {
        "a": 1 / (10 + 1),  # dense rank 3 is past the dense window of 2
        "b": 1 / (10 + 2),
        "c": 1 / (10 + 3) + 1 / (10 + 1),
        "d": 1 / (10 + 2),
    }
    assert {h.doc_id: h.score for h in hits} == pytest.approx(expected)
    assert [h.doc_id for h in hits] == ["c", "a", "b", "d"]  # b and d tie: best rank 2 each, then id
    c = hits[0]
    assert (c.bm25_rank, c.dense_rank, c.found_by) == (3, 1, ("bm25", "dense"))
    assert "e" not in {h.doc_id for h in hits}  # bm25 rank 4 is past the bm25 window of 3


def test_plan_sends_each_side_as_deep_as_its_window() -> None:
    request = SearchRequest("statins", k=5, fusion=FusionConfig(bm25_window=40, dense_window=60))
    plan = plan_search(request, META)
    vector = np.ones(2, dtype=np.float32)
    bm25, knn = plan.queries(vector)
    assert isinstance(bm25, BM25Query) and (bm25.text, bm25.size) == ("statins", 40)
    assert isinstance(knn, KnnQuery) and knn.size == 60 and knn.vector is vector
    only = plan_search(SearchRequest("statins", mode="bm25"), META)
    assert not only.needs_vector and [type(q) for q in only.queries(None)] == [BM25Query]


def test_every_page_is_a_slice_of_the_same_list() -> None:
    lists = [BM25, DENSE]
    whole = plan_search(SearchRequest("q", k=5), META)
    ranked = whole.rank(lists)
    pages = []
    for offset in range(0, 5, 2):
        plan = plan_search(SearchRequest("q", k=2, offset=offset), META)
        pages += plan.page_ids(plan.rank(lists))
    assert pages == [h.doc_id for h in ranked] == whole.page_ids(ranked)


def test_response_fills_the_page_with_documents() -> None:
    plan = plan_search(SearchRequest("q", k=2, offset=1), META)
    ranked = plan.rank([BM25, DENSE])
    stored = {ranked[1].doc_id: StoredDocument("T", "body", {"year": 2001})}  # the other one was deleted meanwhile
    response = plan.respond("idx", ranked, stored, time.perf_counter())
    assert [h.rank for h in response.hits] == [2, 3]
    assert response.hits[0].title == "T" and response.hits[0].metadata == {"year": 2001}
    assert response.hits[1].title == "" and response.candidates == len(ranked) and response.offset == 1


def test_plan_validates_against_the_index_and_resolves_the_instruction() -> None:
    assert plan_search(SearchRequest("q", instruction="scifact"), META).instruction == BMRETRIEVER_INSTRUCTIONS["scifact"]
    assert plan_search(SearchRequest("q", instruction="my own task"), META).instruction == "my own task"
    with pytest.raises(BadRequestError, match="instruction is empty"):
        plan_search(SearchRequest("q", instruction="  "), META)
    with pytest.raises(BadRequestError, match="unknown filter field 'mesh'; filterable fields: year"):
        from hybrid.retrieval import TermFilter

        plan_search(SearchRequest("q", filters=(TermFilter("mesh", ("x",)),)), META)


def test_plan_refuses_another_encoder() -> None:
    plan = plan_search(SearchRequest("q"), META)
    plan.check_encoder(FINGERPRINT, "idx")
    other = Fingerprint.of(bmretriever_spec("other"), weights="w", dimension=2)
    with pytest.raises(FingerprintMismatchError, match="model_id"):
        plan.check_encoder(other, "idx")


def test_adaptive_is_dbsf_with_the_calibrated_weights_and_explains_itself() -> None:
    from hybrid.retrieval.calibration import Calibration
    from hybrid.retrieval.fusion import dbsf_normalize
    from hybrid.retrieval.pipeline import applied_fusion, reliability_of

    calibrated = IndexMeta(FINGERPRINT, calibration=Calibration(1.0, 0.5, 200).to_record())
    reliability = reliability_of(calibrated)
    assert reliability == (1.0, 0.25) and reliability_of(META) == (1.0, 1.0)  # never calibrated: equal
    fusion = FusionConfig("adaptive", dense_weight=2.0)
    applied = applied_fusion(fusion, reliability)
    assert (applied.method, applied.bm25_weight, applied.dense_weight) == ("adaptive (dbsf)", 1.0, 0.5)
    hits = rank_hits("hybrid", {"bm25": BM25, "dense": DENSE}, fusion, reliability)
    bm25, dense = dbsf_normalize(BM25), dbsf_normalize(DENSE)
    for hit in hits:  # each side's normalised value, and the score as their weighted sum
        assert hit.bm25_norm == (None if hit.doc_id not in bm25 else pytest.approx(bm25[hit.doc_id]))
        assert hit.dense_norm == (None if hit.doc_id not in dense else pytest.approx(dense[hit.doc_id]))
        assert hit.score == pytest.approx(1.0 * (hit.bm25_norm or 0.0) + 0.5 * (hit.dense_norm or 0.0))
    assert [h.doc_id for h in hits] == sorted("abcde", key=lambda d: -next(h.score for h in hits if h.doc_id == d))
    rrf = rank_hits("hybrid", {"bm25": BM25, "dense": DENSE}, FusionConfig("rrf", rank_constant=10))
    assert next(h for h in rrf if h.doc_id == "c").dense_norm == pytest.approx(1 / (10 + 1))
