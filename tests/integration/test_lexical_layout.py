"""The BM25 side on the real node and the embedded store: k1/b as the index's similarity (scores equal the
BM25 formula), title and text scored as one field, and indices built with the older layout kept
searchable as built until ``--reindex`` upgrades them."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pytest

import hybrid.ingest.pipeline as pipeline
from hybrid.backends.embedded.search import EmbeddedSearch
from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.backends.opensearch.search import OpenSearchSearch
from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.cli import main
from hybrid.index_meta import IndexMeta
from hybrid.ingest.pipeline import IngestOptions, run_ingest
from hybrid.ingest.sources import open_source
from hybrid.lexical import CURRENT_LAYOUT, FIELDS_LAYOUT
from hybrid.retrieval import BM25Query

pytestmark = pytest.mark.opensearch

# Short documents: Lucene stores lengths below 24 tokens exactly, so scores can be computed by hand.
# Token counts after English analysis (stop words "a", "and", "in" dropped) are given beside each.
DOCS = [
    {"id": "a", "title": "Statins", "text": "statins lower cholesterol"},  # title 1, text 3
    {"id": "b", "title": "Diet", "text": "diet and exercise lower weight in adults"},  # 1, 5
    {"id": "c", "title": "Statin trial", "text": "a randomised trial"},  # 2, 2
    {"id": "d", "title": "Sleep", "text": "sleep quality in older adults"},  # 1, 4
    {"id": "e", "title": "Vitamin D", "text": "vitamin D and bone density"},  # 2, 4
    {"id": "f", "title": "Smoking", "text": "smoking raises cancer risk"},  # 1, 4
]
TITLE = {"a": 1, "b": 1, "c": 2, "d": 1, "e": 2, "f": 1}
TEXT = {"a": 3, "b": 5, "c": 2, "d": 4, "e": 4, "f": 4}
BODY = {d: TITLE[d] + TEXT[d] for d in TITLE}  # ``body`` holds the title's tokens and the text's


def avg(lengths: dict[str, int]) -> float:
    return sum(lengths.values()) / len(lengths)


def bm25(tf: int, df: int, length: int, avg_length: float, k1: float, b: float, *, okapi: bool = False) -> float:
    """OpenSearch's BM25: Lucene's idf, and the (k1 + 1) factor that Lucene 8 dropped and OpenSearch keeps;
    ``okapi``: BM25Okapi's idf instead."""
    docs = len(DOCS)
    idf = math.log((docs - df + 0.5) / (df + 0.5)) if okapi else math.log(1 + (docs - df + 0.5) / (df + 0.5))
    return idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * length / avg_length))


def _write(folder: Path) -> Path:
    path = folder / "docs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    return path


def _ingest(target, index: str, encoder, folder: Path, *, reindex: bool = False) -> None:  # type: ignore[no-untyped-def]
    run_ingest(open_source(_write(folder), "jsonl"), index=index, encoder=encoder, target=target,
               rejects_path=folder / "rejects.jsonl", metadata_fields={}, options=IngestOptions(reindex=reindex))


@pytest.fixture
def backends(opensearch_client, index_name: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """name -> (new target, open a searcher)."""
    root = tmp_path / "embedded"
    return {
        "opensearch": (lambda: OpenSearchTarget(opensearch_client), lambda: OpenSearchSearch(opensearch_client, index_name)),
        "embedded": (lambda: EmbeddedTarget(root), lambda: EmbeddedSearch(root, index_name)),
    }


@pytest.mark.parametrize("backend", ["opensearch", "embedded"])
def test_scores_are_bm25_over_title_and_text_with_the_layouts_k1_and_b(backends, backend, index_name, minilm,  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    new_target, open_search = backends[backend]
    target = new_target()
    _ingest(target, index_name, minilm, tmp_path)
    target.close()
    search = open_search()
    try:
        assert search.index_meta().lexical == CURRENT_LAYOUT
        hits = dict(search.retrieve([BM25Query("statin", 10)])[0])
    finally:
        search.close()
    # "statin" is in a's title and text (tf 2) and in c's title (tf 1): one field, so both count. Both
    # backends score as OpenSearch does, with the layout's k1 and b (not Lucene's defaults 1.2 / 0.75).
    k1, b = CURRENT_LAYOUT.k1, CURRENT_LAYOUT.b
    expected = {d: bm25(tf, 2, BODY[d], avg(BODY), k1, b) for d, tf in (("a", 2), ("c", 1))}
    assert hits == pytest.approx(expected, rel=1e-4)
    assert hits["a"] != pytest.approx(bm25(2, 2, BODY["a"], avg(BODY), 1.2, 0.75), rel=1e-3)


@pytest.mark.parametrize("backend", ["opensearch", "embedded"])
def test_an_index_with_the_older_layout_is_searched_as_built_until_reindexed(  # type: ignore[no-untyped-def]
        backends, backend, index_name, opensearch_url, minilm, tmp_path: Path, monkeypatch, capsys) -> None:
    new_target, open_search = backends[backend]
    with monkeypatch.context() as patch:  # an index as the release before the layout record built it
        patch.setattr(pipeline, "IndexMeta", functools.partial(IndexMeta, lexical=FIELDS_LAYOUT))
        target = new_target()
        _ingest(target, index_name, minilm, tmp_path)
        target.close()
    target = new_target()
    _ingest(target, index_name, minilm, tmp_path)  # resumed by today's code: the layout stays the index's own
    target.close()
    search = open_search()
    try:
        assert search.index_meta().lexical == FIELDS_LAYOUT
        hits = search.retrieve([BM25Query("statin", 10)])[0]
    finally:
        search.close()
    # The older layout: the better of title (x2) and text, Lucene's 1.2 / 0.75; the embedded index scored
    # those fields like BM25Okapi. "statin" is in the titles of a and c and in the text of a.
    okapi = backend == "embedded"
    title = functools.partial(bm25, df=2, avg_length=avg(TITLE), k1=1.2, b=0.75, okapi=okapi)
    text = functools.partial(bm25, df=1, avg_length=avg(TEXT), k1=1.2, b=0.75, okapi=okapi)
    expected = {"a": max(2 * title(1, length=TITLE["a"]), text(1, length=TEXT["a"])), "c": 2 * title(1, length=TITLE["c"])}
    assert dict(hits) == pytest.approx(expected, rel=1e-4)
    cli = ["--embedded-dir", str(tmp_path / "embedded")] if backend == "embedded" else ["--opensearch-url", opensearch_url]
    assert main(["search", "statin", "--index", index_name, "--mode", "bm25", "--json", *cli]) == 0
    captured = capsys.readouterr()
    assert [h["doc_id"] for h in json.loads(captured.out)["hits"]] == [d for d, _ in hits]
    assert "older BM25 layout" in captured.err and "--reindex" in captured.err
    target = new_target()
    _ingest(target, index_name, minilm, tmp_path, reindex=True)
    target.close()
    search = open_search()
    try:
        assert search.index_meta().lexical == CURRENT_LAYOUT
    finally:
        search.close()
    assert main(["search", "statin", "--index", index_name, "--mode", "bm25", "--json", *cli]) == 0
    assert "older BM25 layout" not in capsys.readouterr().err
