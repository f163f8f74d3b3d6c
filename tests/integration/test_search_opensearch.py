"""Hybrid search against the real node: filters on both sides, paging over one list, one round trip,
explain, errors, and the same evaluation numbers as the embedded backend."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hybrid.backends.base import IndexNotFoundError
from hybrid.backends.embedded.search import EmbeddedSearch
from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.backends.opensearch.search import OpenSearchSearch
from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.beir import iter_corpus
from hybrid.data import sample_dir
from hybrid.encoders import load_encoder
from hybrid.evaluation import collect_lists, evaluate_modes, load_split
from hybrid.recipes import FingerprintMismatchError
from hybrid.retrieval import BadRequestError, FusionConfig, RangeFilter, Searcher, SearchRequest, TermFilter
from tests.integration.helpers import ingest_sample
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

pytestmark = pytest.mark.opensearch
QUERY = "statin therapy lowers cholesterol"


@pytest.fixture(scope="module")
def indexed(opensearch_client, minilm, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The sample in OpenSearch (2 shards) and in the embedded store, same encoder."""
    folder = tmp_path_factory.mktemp("search")
    name = f"test-search-{folder.name[-8:].lower().replace('_', '')}"
    embedded = EmbeddedTarget(folder / "embedded")
    for target in (OpenSearchTarget(opensearch_client), embedded):
        ingest_sample(target, name, minilm, folder, shards=2)
    embedded.close()
    yield name, folder / "embedded"
    opensearch_client.indices.delete(index=f"{name}*", ignore_unavailable=True)


@pytest.fixture
def searchers(indexed, opensearch_client, minilm):  # type: ignore[no-untyped-def]
    name, embedded_root = indexed
    embedded = EmbeddedSearch(embedded_root, name)
    yield {"opensearch": Searcher(OpenSearchSearch(opensearch_client, name), minilm),
           "embedded": Searcher(embedded, minilm)}
    embedded.close()


@pytest.mark.parametrize("backend", ["opensearch", "embedded"])
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_filters_apply_to_both_sides(searchers, backend: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    searcher = searchers[backend]
    filters = (RangeFilter("year", gte=2015), TermFilter("journal", ("J1",)))
    response = searcher.search(SearchRequest(QUERY, mode=mode, k=20, filters=filters))
    assert response.hits, "the filtered search found nothing"
    for hit in response.hits:
        assert hit.metadata["year"] >= 2015 and hit.metadata["journal"] == "J1"
    eligible = sum(1 for d in iter_corpus(sample_dir()) if int(d.id) % 20 >= 15 and int(d.id) % 3 == 1)
    if mode == "dense":
        # k filtered neighbours, not k neighbours then filtered (which would leave far fewer).
        assert len(response.hits) == min(20, eligible)


@pytest.mark.parametrize("backend", ["opensearch", "embedded"])
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_paging_walks_one_list(searchers, backend: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    """Thirty pages of ten are the one request for 300, hit for hit: every page is cut from the same list."""
    searcher = searchers[backend]
    fusion = FusionConfig(bm25_window=300, dense_window=300)
    whole = searcher.search(SearchRequest(QUERY, mode=mode, k=300, fusion=fusion))
    pages = []
    for offset in range(0, 300, 10):
        page = searcher.search(SearchRequest(QUERY, mode=mode, k=10, offset=offset, fusion=fusion)).hits
        assert [h.rank for h in page] == list(range(offset + 1, offset + 11))
        pages += page
    assert [(h.doc_id, h.score) for h in pages] == [(h.doc_id, h.score) for h in whole.hits]
    assert len({h.doc_id for h in pages}) == 300
    with pytest.raises(BadRequestError, match="from \\+ k = 301 is past the end"):
        searcher.search(SearchRequest(QUERY, mode=mode, k=10, offset=291,
                                      fusion=FusionConfig(bm25_window=150, dense_window=150 if mode == "hybrid" else 300)))


def test_explain_matches_single_modes(searchers) -> None:  # type: ignore[no-untyped-def]
    searcher = searchers["opensearch"]
    bm25 = {h.doc_id: h for h in searcher.search(SearchRequest(QUERY, mode="bm25", k=100)).hits}
    dense = {h.doc_id: h for h in searcher.search(SearchRequest(QUERY, mode="dense", k=100)).hits}
    hybrid = searcher.search(SearchRequest(QUERY, mode="hybrid", k=10, explain=True, fusion=FusionConfig("rrf"))).hits
    for hit in hybrid:
        expected = 0.0
        if hit.bm25_rank is not None:
            assert bm25[hit.doc_id].rank == hit.bm25_rank and bm25[hit.doc_id].score == pytest.approx(hit.bm25_score)
            expected += 1 / (60 + hit.bm25_rank)
        if hit.dense_rank is not None:
            assert dense[hit.doc_id].rank == hit.dense_rank
            expected += 1 / (60 + hit.dense_rank)
        assert hit.score == pytest.approx(expected)
        assert set(hit.found_by) == {s for s, r in (("bm25", hit.bm25_rank), ("dense", hit.dense_rank)) if r}
        assert hit.title or hit.text


def test_hybrid_is_one_msearch_round_trip(searchers, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    searcher = searchers["opensearch"]
    searcher.search(SearchRequest(QUERY, k=5))  # fingerprint and mapping are read once, before this
    transport = searcher.backend.client.transport
    calls: list[tuple[str, str]] = []
    original = transport.perform_request

    def counting(method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((method, url))
        return original(method, url, *args, **kwargs)

    monkeypatch.setattr(transport, "perform_request", counting)
    searcher.search(SearchRequest(QUERY, k=5))
    # Both sides in one round trip, then one request for the page's bodies.
    assert [url for _, url in calls] == ["/_msearch", f"/{searcher.index}/_mget"]


def test_bad_requests_and_missing_index(searchers, opensearch_client, minilm) -> None:  # type: ignore[no-untyped-def]
    searcher = searchers["opensearch"]
    with pytest.raises(BadRequestError, match="the query is empty"):
        searcher.search(SearchRequest(" "))
    with pytest.raises(BadRequestError, match="out of range 1..1000"):
        searcher.search(SearchRequest(QUERY, k=5000))
    with pytest.raises(BadRequestError, match="raise the bm25 window to at least 110"):
        searcher.search(SearchRequest(QUERY, mode="bm25", offset=100))
    with pytest.raises(BadRequestError, match="filterable fields: journal, year"):
        searcher.search(SearchRequest(QUERY, filters=(TermFilter("mesh", ("Aged",)),)))
    missing = Searcher(OpenSearchSearch(opensearch_client, "no-such-index-xyz"), minilm)
    with pytest.raises(IndexNotFoundError, match="no-such-index-xyz"):
        missing.search(SearchRequest(QUERY))


def test_other_encoder_is_refused(searchers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = load_encoder(str(save_tiny_gpt_neox(tmp_path)), device="cpu", max_length=32)
    searcher = Searcher(searchers["opensearch"].backend, other)
    with pytest.raises(FingerprintMismatchError, match="model_id"):
        searcher.search(SearchRequest(QUERY, mode="dense"))
    assert searcher.search(SearchRequest(QUERY, mode="bm25")).hits  # BM25 needs no encoder check


def test_both_backends_give_the_same_evaluation(searchers) -> None:  # type: ignore[no-untyped-def]
    queries, qrels = load_split(sample_dir(), "dev")
    results = {}
    for backend, searcher in searchers.items():
        lists = collect_lists(searcher, queries, instruction=None, windows=FusionConfig())
        results[backend] = evaluate_modes(lists, qrels, FusionConfig(), "dev").metrics
    for mode in ("bm25", "dense", "hybrid"):
        os_ndcg, emb_ndcg = results["opensearch"][mode]["nDCG@10"], results["embedded"][mode]["nDCG@10"]
        # Dense: HNSW vs exact on 400 documents. BM25: Lucene's idf vs BM25Okapi's, analyzers nearly alike.
        tolerance = 0.01 if mode == "dense" else 0.03
        assert abs(os_ndcg - emb_ndcg) <= tolerance, (mode, results)


def test_per_shard_rrf_simulation_differs_from_our_global_ranks(searchers, opensearch_client, minilm) -> None:  # type: ignore[no-untyped-def]
    """``per_shard_rrf`` is this project's own simulation of neural-search 2.19's RRF (ranks within each
    shard) from plain per-shard queries; it runs on any node. On a 2-shard index it ranks differently from
    our fusion, which ranks over the merged lists."""
    from hybrid.backends.opensearch.server_side import per_shard_rrf
    from hybrid.beir import load_queries
    from hybrid.retrieval import BM25Query, KnnQuery, fuse

    searcher = searchers["opensearch"]
    differing = 0
    queries = list(load_queries(sample_dir()).values())[:20]
    for query, vector in zip(queries, minilm.encode_queries(queries)):
        ours = [h.doc_id for h in searcher.search(SearchRequest(query, k=10, fusion=FusionConfig("rrf"))).hits]
        bm25, dense = searcher.backend.retrieve([BM25Query(query, 100), KnnQuery(vector, 100)])
        assert ours == [h.doc_id for h in fuse([bm25, dense], k=60)[:10]]  # global ranks
        theirs = [doc_id for doc_id, _ in per_shard_rrf(opensearch_client, searcher.index, query, vector, 10,
                                                         searcher.backend.index_meta())]
        differing += ours != theirs
    assert differing > 0, "per-shard RRF agreed with global RRF on every query of a 2-shard index"


def test_server_side_hybrid_needs_neural_search(searchers, opensearch_client, minilm) -> None:  # type: ignore[no-untyped-def]
    """The plugin's own RRF pipeline where the node has neural-search (the compose image), a clear refusal
    where it does not (the local manager's node: the plugin is not on Maven Central)."""
    from hybrid.backends.base import BackendError
    from hybrid.backends.opensearch.server_side import ensure_pipeline, has_neural_search, server_side_hybrid

    if not has_neural_search(opensearch_client):
        with pytest.raises(BackendError, match="needs the neural-search plugin"):
            ensure_pipeline(opensearch_client)
        return
    ensure_pipeline(opensearch_client)
    vector = minilm.encode_queries([QUERY])[0]
    search = searchers["opensearch"]
    hits = server_side_hybrid(opensearch_client, search.index, QUERY, vector, 10, search.backend.index_meta())
    assert len(hits) == 10 and len({d for d, _ in hits}) == 10


@pytest.mark.parametrize("backend", ["opensearch", "embedded"])
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_facets_count_the_whole_ranked_list(searchers, backend: str, mode: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Facet counts are the metadata of every hit of the list the pages are cut from (two shards on the
    node: the counts must still be exact), and on OpenSearch they come with the page in one _msearch."""
    searcher = searchers[backend]
    filters = (RangeFilter("year", gte=2005),)
    calls: list[str] = []
    if backend == "opensearch":
        client = searcher.backend.client
        for method in ("msearch", "mget", "search"):
            original = getattr(client, method)
            monkeypatch.setattr(client, method, lambda *a, _m=method, _o=original, **kw: calls.append(_m) or _o(*a, **kw))
    response = searcher.search(SearchRequest(QUERY, mode=mode, k=5, filters=filters, facets=("year", "journal")))
    if backend == "opensearch":
        assert calls == ["msearch", "msearch"]  # the sub-queries; then the page's documents with the facets
    whole = searcher.search(SearchRequest(QUERY, mode=mode, k=response.candidates, filters=filters)).hits
    years = Counter(h.metadata["year"] for h in whole)
    journals = Counter(h.metadata["journal"] for h in whole)
    assert len(response.hits) == 5 and min(years) >= 2005
    assert response.facets == {"year": sorted(years.items()),
                               "journal": sorted(journals.items(), key=lambda item: (-item[1], item[0]))}


def test_rerank_on_both_backends(searchers, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                 tmp_path: Path) -> None:
    """A real (tiny) cross-encoder reorders the same window the same way on both backends; on OpenSearch
    the window's bodies come in the page's one fetch (no extra round trip)."""
    from hybrid.recipes import passage_text
    from hybrid.rerank.cross_encoder import load_reranker
    from tests.unit.encoders.tiny_models import save_tiny_cross_encoder

    reranker = load_reranker(str(save_tiny_cross_encoder(tmp_path / "ce")), device="cpu")
    pages = {}
    for backend, searcher in searchers.items():
        plain = searcher.search(SearchRequest(QUERY, k=12))
        searcher.reranker = reranker
        first = searcher.search(SearchRequest(QUERY, k=6, rerank=10))
        second = searcher.search(SearchRequest(QUERY, k=6, offset=6, rerank=10))
        hits = list(first.hits + second.hits)
        stored, _ = searcher.backend.fetch_page([h.doc_id for h in plain.hits[:10]], None)
        ids = [h.doc_id for h in plain.hits[:10]]
        # The cross-encoder reads the passage the dense side matched (a long document's), else the document.
        spans = {h.doc_id: h.passage or (0, len(stored[h.doc_id].text)) for h in plain.hits[:10]}
        scores = reranker.score(QUERY, [passage_text(stored[i].title, stored[i].text[slice(*spans[i])]) for i in ids])
        expected = [i for _, _, i in sorted(zip(-scores, range(10), ids))]
        assert [h.doc_id for h in hits] == expected + [h.doc_id for h in plain.hits[10:12]], backend
        assert [h.rerank_score for h in hits[:10]] == pytest.approx(sorted(scores, reverse=True), abs=1e-5)
        pages[backend] = [h.doc_id for h in hits]
    assert pages["opensearch"] == pages["embedded"]
    searcher = searchers["opensearch"]
    transport = searcher.backend.client.transport
    calls: list[str] = []
    original = transport.perform_request

    def counting(method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(url)
        return original(method, url, *args, **kwargs)

    monkeypatch.setattr(transport, "perform_request", counting)
    searcher.search(SearchRequest(QUERY, k=5, rerank=20))
    assert calls == ["/_msearch", f"/{searcher.index}/_mget"]


def test_long_documents_as_passages_on_both_backends(opensearch_client, index_name: str, minilm,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    """Needles (a relevant abstract after 2,000+ words of others) on the node: the nested k-NN finds each one
    by its best passage, in one request, as the embedded index does: same documents, scores and passages."""
    from bench.needles import build_needles
    from hybrid.beir import load_queries
    from hybrid.ingest.pipeline import run_ingest
    from hybrid.ingest.sources import open_source

    folder = tmp_path / "needles"
    offsets = build_needles(sample_dir(), folder, needles=4, distractors=60, seed=0)
    embedded = EmbeddedTarget(tmp_path / "embedded")
    for target in (OpenSearchTarget(opensearch_client), embedded):
        run_ingest(open_source(folder, "beir"), index=index_name, encoder=minilm, target=target,
                   rejects_path=tmp_path / "r.jsonl", metadata_fields={})
    embedded.close()
    search = EmbeddedSearch(tmp_path / "embedded", index_name)
    try:
        backends = {"opensearch": Searcher(OpenSearchSearch(opensearch_client, index_name), minilm),
                    "embedded": Searcher(search, minilm)}
        for query, text in load_queries(folder).items():
            pages = {name: s.search(SearchRequest(text, mode="dense", k=10)).hits for name, s in backends.items()}
            needle = next(h for h in pages["opensearch"] if h.doc_id == f"needle-{query}")
            assert needle.passage is not None and needle.passage[1] > offsets[needle.doc_id]
            ours, theirs = pages["opensearch"], pages["embedded"]
            assert [(h.doc_id, h.passage) for h in ours] == [(h.doc_id, h.passage) for h in theirs]
            assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-4)
    finally:
        search.close()


def test_an_index_of_passages_lists_its_documents_not_its_passages(indexed, opensearch_url: str) -> None:  # type: ignore[no-untyped-def]
    """Each passage is a nested Lucene document beside its document: the listing counts documents."""
    import asyncio

    from hybrid.backends.opensearch.backend import OpenSearchBackend
    from hybrid.settings import load_settings

    name, _ = indexed
    backend = OpenSearchBackend(load_settings(opensearch_url=opensearch_url))

    async def listed_async() -> dict[str, int]:
        try:
            return {e.name: e.documents for e in await backend.async_indices()}
        finally:
            await backend.aclose()

    try:
        assert {e.name: e.documents for e in backend.indices()}[name] == 400
        assert asyncio.run(listed_async())[name] == 400
    finally:
        backend.close()
