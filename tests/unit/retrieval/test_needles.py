"""Long documents: a relevant abstract placed after 2,000+ words of unrelated abstracts is found by dense
search over passages and missed by an index of one vector per document (real MiniLM, embedded backend)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.needles import build_needles
from hybrid.backends.base import IndexOptions
from hybrid.backends.embedded.search import EmbeddedSearch
from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.beir import load_queries
from hybrid.data import sample_dir
from hybrid.ingest.pipeline import IngestOptions, run_ingest
from hybrid.ingest.sources import open_source
from hybrid.retrieval import SearchRequest
from hybrid.retrieval.searcher import Searcher


@pytest.fixture(scope="module")
def needles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("needles")
    return folder, build_needles(sample_dir(), folder, needles=5, distractors=120)


def _dense(folder: Path, root: Path, minilm, *, passages: bool) -> dict[str, list]:  # type: ignore[no-untyped-def, type-arg]
    target = EmbeddedTarget(root)
    try:
        run_ingest(open_source(folder, "beir"), index="n", encoder=minilm, target=target, rejects_path=root / "r.jsonl",
                   metadata_fields={}, index_options=IndexOptions(passages=passages), options=IngestOptions())
    finally:
        target.close()
    search = EmbeddedSearch(root, "n")
    try:
        searcher = Searcher(search, minilm)
        return {q: list(searcher.search(SearchRequest(text, mode="dense", k=10, highlight=True)).hits)
                for q, text in load_queries(folder).items()}
    finally:
        search.close()


def test_needles_are_found_with_passages_and_missed_without(needles, minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, offsets = needles
    assert all(offset > 10_000 for offset in offsets.values())  # 2,000+ words before each relevant abstract
    with_passages = _dense(folder, tmp_path / "passages", minilm, passages=True)
    whole = _dense(folder, tmp_path / "whole", minilm, passages=False)
    for query, hits in with_passages.items():
        needle = f"needle-{query}"
        found = next((h for h in hits if h.doc_id == needle), None)
        assert found is not None, f"{needle} not in the top 10 with passages"
        # The passage that matched holds part of the relevant abstract, and the snippet comes from it.
        assert found.passage is not None and found.passage[1] > offsets[needle]
        assert found.highlight is not None
        snippet = found.highlight.snippet.strip("… ")
        at = found.text.find(snippet[:40])
        assert found.passage[0] - len(snippet) < at < found.passage[1]
        assert all(h.doc_id != needle for h in whole[query]), f"{needle} found without passages"
        assert all(h.passage is None for h in whole[query])
