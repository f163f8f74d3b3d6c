"""The OpenSearch backend's pure parts: query bodies, response parsing, the mapping, the index record,
and the translation of client errors — checked against what OpenSearch's DSL and answers look like."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid.backends.base import (
    AccessDeniedError,
    BackendError,
    BackendUnavailableError,
    IndexNotFoundError,
    IndexOptions,
    InvalidIndexNameError,
    check_index_name,
)
from hybrid.backends.opensearch.client import public_url
from hybrid.backends.opensearch.errors import translate
from hybrid.backends.opensearch.mapping import index_body, index_meta_of
from hybrid.backends.opensearch.queries import (
    catalog,
    msearch_lines,
    msearch_lists,
    ranked_list,
    stored_document,
    stored_documents,
)
from hybrid.index_meta import IndexMeta, IndexMetaError
from hybrid.lexical import CURRENT_LAYOUT, FIELDS_LAYOUT
from hybrid.recipes import Fingerprint, bmretriever_spec
from hybrid.retrieval import BM25Query, KnnQuery, RangeFilter, TermFilter
from hybrid.retrieval.types import ShardShortfall, shortfall_warnings

FILTERS = (RangeFilter("year", gte=2015), TermFilter("journal", ("J1", "J2")))
FINGERPRINT = Fingerprint.of(bmretriever_spec("m"), weights="w", dimension=3)


def test_bm25_and_knn_bodies() -> None:
    vector = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    lines = msearch_lines("idx", [BM25Query("statins LDL", 40, FILTERS), KnnQuery(vector, 60, FILTERS)], IndexMeta(FINGERPRINT))
    # BM25 ranks with the index's global term statistics (dfs), so shard count does not change it.
    assert lines[0] == {"index": "idx", "search_type": "dfs_query_then_fetch"} and lines[2] == {"index": "idx"}
    bm25, knn = lines[1], lines[3]
    filters = [{"range": {"year": {"gte": 2015}}}, {"terms": {"journal": ["J1", "J2"]}}]
    assert bm25["size"] == 40 and bm25["docvalue_fields"] == ["doc_id"] and bm25["stored_fields"] == "_none_"
    assert bm25["query"] == {"bool": {"must": [{"match": {"body": {"query": "statins LDL"}}}], "filter": filters}}
    # An index built before the layout was recorded keeps its own query: best field of title (x2) and text.
    legacy = msearch_lines("idx", [BM25Query("statins LDL", 40, FILTERS)], IndexMeta(FINGERPRINT, lexical=FIELDS_LAYOUT))[1]
    assert legacy["query"] == {"bool": {
        "must": [{"multi_match": {"query": "statins LDL", "fields": ["title^2.0", "text"], "type": "best_fields"}}],
        "filter": filters}}
    # The filter sits inside the knn clause (k filtered neighbours), never around it.
    assert knn["size"] == 60 and knn["query"] == {"knn": {"vector": {
        "vector": [0.5, -1.0, 2.0], "k": 60, "filter": {"bool": {"filter": filters}}}}}
    plain = msearch_lines("idx", [KnnQuery(vector, 5)], IndexMeta(FINGERPRINT))[1]
    assert "filter" not in plain["query"]["knn"]["vector"]


def test_responses_parse_into_ranked_lists_and_documents() -> None:
    answer = {"hits": {"hits": [{"_score": 3.5, "fields": {"doc_id": ["7"]}}, {"_score": 1.0, "fields": {"doc_id": ["2"]}}]}}
    assert ranked_list(answer) == [("7", 3.5), ("2", 1.0)]
    failed = {"error": {"root_cause": [{"type": "x", "reason": "boom"}]}}
    queries = [BM25Query("q", 1), KnnQuery(np.zeros(3), 1)]
    assert msearch_lists({"responses": [answer, answer]}, queries) == [[("7", 3.5), ("2", 1.0)]] * 2
    with pytest.raises(BackendError, match="the k-NN query failed: boom") as refused:
        msearch_lists({"responses": [answer, failed]}, queries)
    assert type(refused.value) is BackendError  # a refusal of the request (proxy 502)
    # The cluster failing under the search (a node gone mid-request: item status 5xx) is "unavailable"
    # (proxy 503, worth retrying), whatever its words.
    gone = {"error": {"root_cause": [{"type": "node_disconnected_exception", "reason": "[n2] disconnected"}]},
            "status": 500}
    with pytest.raises(BackendUnavailableError, match=r"the k-NN query failed: \[n2\] disconnected"):
        msearch_lists({"responses": [answer, gone]}, queries)
    lost = {"docs": [{"_id": "7", "found": True, "_source": {"title": "T", "text": "x"}},
                     {"_id": "2", "error": {"root_cause": [{"reason": "no shard available for [get [idx][2]]"}]}}]}
    with pytest.raises(BackendUnavailableError, match="fetching 1 of the page's documents failed: no shard available"):
        stored_documents(lost)
    doc = stored_document({"doc_id": "7", "title": "T", "text": "body", "year": 2001})
    assert (doc.title, doc.text, doc.metadata) == ("T", "body", {"year": 2001})


def test_index_body_follows_the_encoder() -> None:
    body = index_body(IndexMeta(FINGERPRINT, {"year": "integer"}, "loading"), IndexOptions(shards=2, replicas=0))
    assert body["settings"]["index"] == {"knn": True, "number_of_shards": 2, "number_of_replicas": 0,
                                         "refresh_interval": "1s", "similarity": {"default": {
                                             "type": "BM25", "k1": CURRENT_LAYOUT.k1, "b": CURRENT_LAYOUT.b}}}
    properties = body["mappings"]["properties"]
    # Title and text are copied into the one field BM25 scores, all with English analysis.
    assert properties["title"] == properties["text"] == {"type": "text", "analyzer": "english", "copy_to": "body"}
    assert properties["body"] == {"type": "text", "analyzer": "english"}
    assert properties["vector"]["dimension"] == 3
    assert properties["vector"]["method"]["space_type"] == "innerproduct"  # BMRetriever: dot product
    assert properties["vector"]["method"]["engine"] == "lucene"
    assert properties["year"] == {"type": "integer"} and body["mappings"]["dynamic"] == "strict"
    with pytest.raises(ValueError, match="clashes"):
        index_body(IndexMeta(FINGERPRINT, {"title": "keyword"}), IndexOptions())
    assert properties["vector"]["method"]["parameters"] == {"m": 16, "ef_construction": 100}


def test_hnsw_options_compression_and_ef_search() -> None:
    options = IndexOptions(hnsw_m=32, hnsw_ef_construction=256, vector_compression="sq")
    method = index_body(IndexMeta(FINGERPRINT), options)["mappings"]["properties"]["vector"]["method"]
    assert method["parameters"] == {"m": 32, "ef_construction": 256, "encoder": {"name": "sq"}}
    with pytest.raises(ValueError, match="vector compression must be one of none, sq"):
        IndexOptions(vector_compression="pq")  # type: ignore[arg-type]
    knn = msearch_lines("idx", [KnnQuery(np.ones(3), 50, (), ef_search=400)], IndexMeta(FINGERPRINT))[1]["query"]["knn"]["vector"]
    assert knn["k"] == 50 and knn["method_parameters"] == {"ef_search": 400}


def test_the_index_record_round_trips_and_damage_is_named() -> None:
    meta = IndexMeta(FINGERPRINT, {"year": "integer"}, "ready", 1, "1s")
    answer = {"idx-2026": {"mappings": {"_meta": {"hybrid": meta.to_block()}}}}
    assert index_meta_of(answer, "idx") == meta and meta.lexical == CURRENT_LAYOUT
    older = meta.to_block()
    del older["lexical"]  # written before the BM25 layout was recorded
    assert IndexMeta.from_block(older, "idx").lexical == FIELDS_LAYOUT
    assert FIELDS_LAYOUT.outdated and "--reindex" in FIELDS_LAYOUT.upgrade_hint("idx")
    with pytest.raises(IndexMetaError, match="'idx' was not built by hybrid"):
        index_meta_of({"idx": {"mappings": {}}}, "idx")
    damaged = meta.to_block()
    del damaged["fingerprint"]["weights"]  # type: ignore[attr-defined]
    with pytest.raises(IndexMetaError, match="damaged hybrid record: fingerprint is missing"):
        IndexMeta.from_block(damaged, "idx")


def test_catalog_lists_hybrid_indices_by_alias() -> None:
    block = IndexMeta(FINGERPRINT).to_block()
    mappings = {"scifact-1": {"mappings": {"_meta": {"hybrid": block}}}, "plain": {"mappings": {}},
                "loose": {"mappings": {"_meta": {"hybrid": block}}}}
    aliases = {"scifact-1": {"aliases": {"scifact": {}}}, "plain": {"aliases": {}}, "loose": {"aliases": {}}}
    assert [(name, physical) for name, physical, _ in catalog(mappings, aliases)] == [
        ("loose", "loose"), ("scifact", "scifact-1")]


def test_index_names() -> None:
    assert check_index_name("scifact-2.v1_x") == "scifact-2.v1_x"
    for bad in ("Demo", "-x", "a b", "a/b", "..", "_all", "x" * 201, ""):
        with pytest.raises(InvalidIndexNameError, match="not valid"):
            check_index_name(bad)


def test_public_url_hides_credentials() -> None:
    assert public_url("https://admin:s3cret@search.example.org:9200/") == "https://search.example.org:9200/"


def _transport_error(cls_name: str, status: object, info: object, message: str = "err") -> Exception:
    from opensearchpy import exceptions

    return getattr(exceptions, cls_name)(status, message, info)


@pytest.mark.parametrize(
    ("error", "domain", "words"),
    [
        (("ConnectionError", "N/A", Exception("[Errno 111] Connection refused")), BackendUnavailableError,
         "cannot reach OpenSearch at X (connection refused)"),
        (("ConnectionTimeout", "TIMEOUT", Exception("Read timed out. (read timeout=1)")), BackendUnavailableError,
         "did not answer in time"),
        (("SSLError", "N/A", Exception("[SSL: WRONG_VERSION_NUMBER] wrong version number")), BackendUnavailableError,
         "TLS with OpenSearch at X failed (wrong version number)"),
        (("AuthenticationException", 401, {"error": "Unauthorized"}), AccessDeniedError,
         "refused the credentials (401: Unauthorized); set --user"),
        (("AuthorizationException", 403, {"error": {"root_cause": [{"type": "security_exception",
                                                                   "reason": "no permissions for [indices:data/read]"}]}}),
         AccessDeniedError, "denied the request (403: no permissions for [indices:data/read])"),
        (("NotFoundError", 404, {"error": {"root_cause": [{"type": "index_not_found_exception", "index": "nope"}]}}),
         IndexNotFoundError, "index 'nope' does not exist on OpenSearch at X"),
        (("TransportError", 500, {"error": {"type": "x", "reason": "disk full"}}), BackendUnavailableError,
         "failed (500: disk full)"),
        (("RequestError", 400, {"error": {"root_cause": [{"type": "parsing_exception", "reason": "bad"}]}}),
         BackendError, "refused the request (400: bad)"),
    ],
)
def test_client_errors_become_domain_errors(error: tuple, domain: type, words: str) -> None:  # type: ignore[type-arg]
    translated = translate(_transport_error(*error), "OpenSearch at X")
    assert type(translated) is domain and words in str(translated)


def test_other_errors_pass_through() -> None:
    original = KeyError("x")
    assert translate(original, "OpenSearch at X") is original


def test_partial_shards_are_a_warning_and_no_shards_an_error() -> None:
    queries = [BM25Query("statins", 10), BM25Query("ldl", 10)]
    hit = {"_score": 1.5, "fields": {"doc_id": ["7"]}}
    whole = {"_shards": {"total": 3, "successful": 3, "failed": 0}, "hits": {"hits": [hit]}}
    partial = {"_shards": {"total": 3, "successful": 2, "failed": 1,
                           "failures": [{"shard": 1, "reason": {"type": "node_not_connected_exception",
                                                                "reason": "node disconnected"}}]},
               "hits": {"hits": [hit]}}
    lists = msearch_lists({"responses": [whole, partial]}, queries)
    assert [list(r) for r in lists] == [[("7", 1.5)], [("7", 1.5)]]
    assert not isinstance(lists[0], ShardShortfall)
    assert shortfall_warnings(lists) == ("partial results: 1 of 3 shards did not answer the BM25 query for 'ldl' "
                                         "(node disconnected); documents on them are missing",)
    # A shard without an active copy is neither failed nor successful: missing all the same.
    unassigned = {"_shards": {"total": 3, "successful": 2, "skipped": 0, "failed": 0}, "hits": {"hits": [hit]}}
    assert shortfall_warnings(msearch_lists({"responses": [unassigned]}, queries[:1])) == (
        "partial results: 1 of 3 shards did not answer the BM25 query for 'statins' (no active copy of the shard: "
        "its node is gone); documents on them are missing",)
    none = {"_shards": {"total": 3, "successful": 0, "failed": 3, "failures": [{"reason": "all gone"}]},
            "hits": {"hits": []}}
    with pytest.raises(BackendUnavailableError, match="none of the index's 3 shards answered"):
        msearch_lists({"responses": [whole, none]}, queries)
