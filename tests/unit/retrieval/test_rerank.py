"""The rerank stage: which hits a cross-encoder rescores, the list that results, paging through it, and a
real (tiny, randomly initialised) BERT cross-encoder loaded and run the way a hub or trained one is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from hybrid.backends.embedded.backend import EmbeddedBackend
from hybrid.cli import main
from hybrid.recipes import passage_text
from hybrid.rerank.cross_encoder import RerankerLoadError, load_reranker
from hybrid.rerank.stage import rerank_depth, reranked
from hybrid.retrieval import Searcher, SearchRequest
from hybrid.retrieval.request import BadRequestError
from hybrid.retrieval.types import Hit
from tests.unit.encoders.tiny_models import save_tiny_cross_encoder
from tests.unit.sample_index import cli_sample_index

QUERY = "statin therapy and cholesterol"
BROAD = "patients cells disease treatment risk protein expression study"


def _hits(n: int) -> list[Hit]:
    return [Hit(f"d{i}", 1.0 / i, i, ("bm25",)) for i in range(1, n + 1)]


@pytest.mark.parametrize(("rerank", "offset", "ranked", "expected"), [
    (0, 0, 50, 0), (20, 0, 50, 20), (20, 10, 50, 20), (20, 20, 50, 0), (20, 0, 7, 7), (-1, 0, 5, 0)])
def test_rerank_depth(rerank: int, offset: int, ranked: int, expected: int) -> None:
    assert rerank_depth(rerank, offset, ranked) == expected


def test_the_window_is_ordered_by_score_and_the_rest_keeps_its_place() -> None:
    hits = _hits(8)
    scores = {"d1": 0.1, "d2": 0.9, "d3": 0.5, "d5": 0.9}  # d4 unscored (no longer stored); d2/d5 tie
    out = reranked(hits, scores, 5)
    # by score descending, a tie in fused order (d2 before d5), the unscored hit last in the window
    assert [h.doc_id for h in out] == ["d2", "d5", "d3", "d1", "d4", "d6", "d7", "d8"]
    assert [h.rank for h in out] == list(range(1, 9))
    assert [h.rerank_score for h in out[:5]] == [0.9, 0.9, 0.5, 0.1, None]
    assert out[5:] == hits[5:]  # below the window: untouched, fused scores kept
    assert out[0].score == hits[1].score  # the fused score stays the hit's score


class LengthScorer:
    """A cross-encoder stand-in with a known answer: longer passages score higher."""

    name = "length"
    fingerprint = "test:length"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        self.calls.append(len(passages))
        return np.array([float(len(p)) for p in passages])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cli_sample_index(tmp_path_factory.mktemp("rerank"), 120)


@pytest.fixture(scope="module")
def tiny_reranker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_cross_encoder(tmp_path_factory.mktemp("tiny-ce"))


def test_pages_are_cut_from_one_reranked_list(demo: Path) -> None:
    backend = EmbeddedBackend(demo)
    try:
        scorer = LengthScorer()
        searcher = Searcher(backend.search("demo"), None, scorer)
        fused = searcher.search(SearchRequest(BROAD, mode="bm25", k=30))
        pages = [searcher.search(SearchRequest(BROAD, mode="bm25", k=10, offset=o, rerank=20)) for o in (0, 10, 20)]
        stored, _ = backend.search("demo").fetch_page([h.doc_id for h in fused.hits], None)
    finally:
        backend.close()
    assert len(fused.hits) == 30
    listed = [h for page in pages for h in page.hits]
    length = {i: len(passage_text(d.title, d.text)) for i, d in stored.items()}
    window = sorted(fused.hits[:20], key=lambda h: (-length[h.doc_id], h.rank))
    assert [h.doc_id for h in listed] == [h.doc_id for h in window] + [h.doc_id for h in fused.hits[20:30]]
    assert [h.rank for h in listed] == list(range(1, 31))
    assert [h.rerank_score for h in listed[:20]] == [float(length[h.doc_id]) for h in window]
    assert all(h.rerank_score is None for h in listed[20:])
    assert scorer.calls == [20, 20]  # the page past the window costs no cross-encoder call
    assert pages[0].reranker == "length (test:length)" and pages[2].reranker is None


def test_rerank_without_a_cross_encoder_is_a_bad_request(demo: Path) -> None:
    backend = EmbeddedBackend(demo)
    try:
        with pytest.raises(BadRequestError, match="needs a cross-encoder"):
            Searcher(backend.search("demo"), None).search(SearchRequest(QUERY, mode="bm25", rerank=5))
        with pytest.raises(BadRequestError, match="rerank=1001 is out of range"):
            Searcher(backend.search("demo"), None, LengthScorer()).search(SearchRequest(QUERY, mode="bm25", rerank=1001))
    finally:
        backend.close()


def test_a_real_cross_encoder_scores_in_batches_as_it_does_one_by_one(tiny_reranker: Path) -> None:
    reranker = load_reranker(str(tiny_reranker), device="cpu", batch_size=3)
    passages = ["statins lower LDL cholesterol in patients", "gene", "a trial of a new dose in mice " * 20,
                "protein folding", "cholesterol", "the cell cycle and cancer"]
    batched = reranker.score(QUERY, passages)
    single = np.array([reranker.score(QUERY, [p])[0] for p in passages])
    assert batched.shape == (6,) and np.allclose(batched, single, atol=1e-5)
    assert reranker.fingerprint.startswith("weights:") and reranker.fingerprint == load_reranker(str(tiny_reranker)).fingerprint
    assert len(set(np.round(batched, 6))) > 1  # it reads the passage: not one constant


def test_a_folder_that_is_not_a_cross_encoder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RerankerLoadError, match="cannot load cross-encoder"):
        load_reranker(str(tmp_path))
    with pytest.raises(RerankerLoadError, match="no such folder"):
        load_reranker(str(tmp_path / "missing" / "model"))


def test_cli_search_and_eval_with_a_real_cross_encoder(demo: Path, tiny_reranker: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import json

    flags = ["--index", "demo", "--embedded", "--embedded-dir", str(demo)]
    assert main(["search", QUERY, *flags, "--mode", "bm25", "--rerank", "8"]) == 2
    assert "needs a cross-encoder" in capsys.readouterr().err
    assert main(["search", BROAD, *flags, "--mode", "bm25", "--k", "10", "--rerank", "8", "--reranker",
                 str(tiny_reranker), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    scores = [h["rerank_score"] for h in out["hits"]]
    assert all(s is not None for s in scores[:8]) and scores[8:] == [None, None]
    assert scores[:8] == sorted(scores[:8], reverse=True)
    assert out["reranker"].startswith(f"{tiny_reranker} (weights:")
    assert main(["search", QUERY, *flags, "--mode", "bm25", "--k", "3", "--rerank", "8", "--reranker",
                 str(tiny_reranker), "--explain"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].startswith("rerank: ") and "rerank" in table[2]
    result = tmp_path / "eval.json"
    assert main(["eval", "--dataset", "sample", "--split", "dev", *flags, "--rerank", "5", "--reranker",
                 str(tiny_reranker), "--out", str(result), "--chart", str(tmp_path / "eval.png")]) == 0
    assert "hybrid+rerank" in capsys.readouterr().out
    data = json.loads(result.read_text())
    assert set(data["metrics"]["hybrid+rerank"]) == set(data["metrics"]["hybrid"])
    assert data["rerank"]["depth"] == 5 and data["rerank"]["ms_per_query"]["p50"] > 0
