"""The metrics against their definitions, BEIR's self-hit rule included."""

from __future__ import annotations

import math

import pytest

from hybrid.metrics import evaluate


def test_ndcg_and_recall_from_their_definitions() -> None:
    qrels = {"q1": {"d1": 1, "d3": 2}}
    run = {"q1": {"d3": 3.0, "d2": 2.0, "d1": 1.0}}  # ranks: d3, d2, d1
    # trec_eval's (and so BEIR's) nDCG: the gain is the relevance grade itself.
    dcg = 2 / math.log2(1 + 1) + 1 / math.log2(3 + 1)
    ideal = 2 / math.log2(1 + 1) + 1 / math.log2(2 + 1)
    result = evaluate(run, qrels, ["nDCG@10", "R@100", "RR@10"])
    assert result["nDCG@10"] == pytest.approx(dcg / ideal)
    assert result["R@100"] == 1.0 and result["RR@10"] == 1.0


def test_a_hit_on_the_query_itself_is_ignored() -> None:
    """BEIR drops a hit whose document id is the query id (collections where queries are documents)."""
    qrels = {"q1": {"d1": 1}}
    with_self = evaluate({"q1": {"q1": 9.0, "d1": 5.0}}, qrels, ["nDCG@10", "RR@10"])
    without = evaluate({"q1": {"d1": 5.0}}, qrels, ["nDCG@10", "RR@10"])
    assert with_self == without == {"nDCG@10": 1.0, "RR@10": 1.0}


def test_a_query_missing_from_the_run_scores_zero() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    assert evaluate({"q1": {"d1": 1.0}}, qrels, ["nDCG@10"])["nDCG@10"] == pytest.approx(0.5)
