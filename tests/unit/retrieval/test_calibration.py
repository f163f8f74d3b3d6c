"""Calibration for adaptive fusion, from its definitions: pseudo-queries, self-hit rates, weights."""

from __future__ import annotations

import pytest

from hybrid.retrieval.calibration import DEPTH, Calibration, pseudo_query, self_hit_rates
from hybrid.retrieval.types import StoredDocument


def test_pseudo_queries_are_titles_or_first_sentences() -> None:
    assert pseudo_query(StoredDocument("Statins lower LDL cholesterol", "Body.", {})) == "Statins lower LDL cholesterol"
    short_title = StoredDocument("Review", "Mice lacking the gene grew obese. A second sentence.", {})
    assert pseudo_query(short_title) == "Mice lacking the gene grew obese."
    assert pseudo_query(StoredDocument("", "Too short", {})) is None
    long = StoredDocument(" ".join(f"w{i}" for i in range(40)), "", {})
    assert pseudo_query(long) == " ".join(f"w{i}" for i in range(24))


def test_self_hit_rates_count_sources_in_each_sides_top() -> None:
    inside = [(f"d{i}", 1.0) for i in range(DEPTH)]
    lists = {  # pseudo-queries keyed by their source document
        "d0": {"bm25": inside, "dense": inside},  # found by both
        "d1": {"bm25": [("x", 1.0), ("d1", 0.5)], "dense": [("y", 1.0)]},  # found by BM25 only
        "d2": {"bm25": [("z", 1.0)] * DEPTH + [("d2", 0.1)], "dense": []},  # below BM25's top DEPTH: missed
        "d3": {"bm25": [], "dense": [("d3", 0.9)]},  # found by dense only
    }
    assert self_hit_rates(lists) == (2 / 4, 2 / 4)


@pytest.mark.parametrize(
    ("bm25", "dense", "weights"),
    [
        (1.0, 0.99, (1.0, 0.99**2)),  # both work: nearly equal
        (1.0, 0.02, (1.0, 0.02**2)),  # an encoder that finds nothing fades out
        (0.5, 1.0, (0.25, 1.0)),  # a weak lexical side fades the other way
        (0.0, 0.0, (1.0, 1.0)),  # nothing measured: equal weights
    ],
)
def test_weights_are_the_squared_relative_rates(bm25: float, dense: float, weights: tuple[float, float]) -> None:
    calibration = Calibration(bm25, dense, 200)
    assert calibration.weights() == pytest.approx(weights)
    assert Calibration.from_record(calibration.to_record()) == calibration
