"""Query bodies and response parsing for the OpenSearch backend: pure functions, no I/O, so the
blocking and the async backend share them. User text only ever lands in values, never in keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hybrid.backends.base import (
    ID_FIELD,
    PASSAGE_END,
    PASSAGE_START,
    PASSAGES_FIELD,
    TEXT_FIELD,
    TITLE_FIELD,
    VECTOR_FIELD,
    BackendError,
    BackendUnavailableError,
    IndexEntry,
)
from hybrid.backends.opensearch.mapping import meta_block
from hybrid.index_meta import IndexMeta
from hybrid.lexical import BODY_FIELD, LexicalLayout
from hybrid.retrieval.facets import FacetCounts, FacetQuery, ordered
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.request import Filter, RangeFilter, TermFilter
from hybrid.retrieval.types import BM25Query, KnnQuery, PassageMatches, ShardShortfall, SideQuery, StoredDocument

# Ids come from doc values; no stored fields (and so no _source decompression) are read per hit.
IDS_ONLY: dict[str, object] = {"stored_fields": "_none_", "docvalue_fields": [ID_FIELD]}


def filter_clauses(filters: Sequence[Filter]) -> list[dict[str, object]]:
    clauses: list[dict[str, object]] = []
    for f in filters:
        if isinstance(f, RangeFilter):
            bounds = {k: v for k, v in (("gte", f.gte), ("lte", f.lte)) if v is not None}
            clauses.append({"range": {f.field: bounds}})
        elif isinstance(f, TermFilter):
            clauses.append({"terms": {f.field: list(f.values)}})
    return clauses


def lexical_clause(query: str, layout: LexicalLayout) -> dict[str, object]:
    """``match`` on the combined field (``body`` layout), or ``multi_match best_fields`` over title
    (boosted) and text (``fields``)."""
    if layout.name == "body":
        return {"match": {BODY_FIELD: {"query": query}}}
    return {"multi_match": {"query": query, "fields": [f"{TITLE_FIELD}^{layout.title_boost}", TEXT_FIELD],
                            "type": "best_fields"}}


def bm25_body(query: str, size: int, filters: Sequence[Filter], layout: LexicalLayout) -> dict[str, object]:
    """The layout's BM25 query; filters as ``bool.filter``."""
    return {
        "size": size,
        **IDS_ONLY,
        "query": {"bool": {"must": [lexical_clause(query, layout)], "filter": filter_clauses(filters)}},
    }


PASSAGE_SPAN_FIELDS = [f"{PASSAGES_FIELD}.{PASSAGE_START}", f"{PASSAGES_FIELD}.{PASSAGE_END}"]


def knn_body(vector: np.ndarray, size: int, filters: Sequence[Filter], ef_search: int | None = None, *,
             passages: bool = False) -> dict[str, object]:
    """Lucene k-NN with the filter inside the ``knn`` clause: k filtered neighbours, not k then filtered.
    ``ef_search`` sets the HNSW candidate list for this query (Lucene uses at least k).

    On an index of passages the k-NN runs over the nested passage vectors and answers k documents, each
    scored by its best passage (Lucene joins passages to their document while it searches; the filter on
    document fields applies to the passages' parents); the inner hit names that passage's span."""
    knn: dict[str, object] = {"vector": [float(x) for x in vector], "k": size}
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = {"bool": {"filter": clauses}}
    if ef_search is not None:
        knn["method_parameters"] = {"ef_search": ef_search}
    if not passages:
        return {"size": size, **IDS_ONLY, "query": {"knn": {VECTOR_FIELD: knn}}}
    nested = {"path": PASSAGES_FIELD, "score_mode": "max", "query": {"knn": {f"{PASSAGES_FIELD}.{VECTOR_FIELD}": knn}},
              "inner_hits": {"size": 1, "_source": False, "docvalue_fields": PASSAGE_SPAN_FIELDS}}
    return {"size": size, **IDS_ONLY, "query": {"nested": nested}}


def sample_body(size: int, seed: int) -> dict[str, object]:
    """``size`` documents in a random order fixed by ``seed`` (``random_score`` over ``_seq_no``)."""
    return {"size": size, "query": {"function_score": {"query": {"match_all": {}},
                                                       "random_score": {"seed": seed, "field": "_seq_no"}}}}


def query_body(query: SideQuery, meta: IndexMeta) -> dict[str, object]:
    if isinstance(query, BM25Query):
        return bm25_body(query.text, query.size, query.filters, meta.lexical)
    return knn_body(query.vector, query.size, query.filters, query.ef_search, passages=meta.passages is not None)


def describe(query: SideQuery) -> str:
    """How a failed sub-query is named in an error message."""
    if isinstance(query, KnnQuery):
        return "the k-NN query"
    return f"the BM25 query for {query.text[:60]!r}"


def msearch_lines(index: str, queries: Sequence[SideQuery], meta: IndexMeta) -> list[Mapping[str, object]]:
    lines: list[Mapping[str, object]] = []
    for query in queries:
        # BM25 with the index's global term statistics, not each shard's: a 3-shard index ranks as a
        # 1-shard one would (one shard skips the extra phase).
        header = {"index": index, "search_type": "dfs_query_then_fetch"} if isinstance(query, BM25Query) else {"index": index}
        lines += [header, query_body(query, meta)]
    return lines


def ranked_list(response: Mapping[str, object]) -> RankedList:
    """``(doc_id, score)`` pairs, best first, from a search response (with the span of each document's
    best passage when the hits carry one)."""
    hits = response["hits"]["hits"]  # type: ignore[index]
    ranked = [(str(h["fields"][ID_FIELD][0]), float(h["_score"])) for h in hits]
    spans = {doc_id: span for (doc_id, _), h in zip(ranked, hits) if (span := best_passage_span(h)) is not None}
    return PassageMatches(ranked, spans) if spans else ranked


def best_passage_span(hit: Mapping[str, object]) -> tuple[int, int] | None:
    """The character span of the passage a nested k-NN hit was scored by (its one inner hit)."""
    inner = (hit.get("inner_hits") or {}).get(PASSAGES_FIELD)  # type: ignore[attr-defined]
    if not inner or not inner["hits"]["hits"]:
        return None
    fields = inner["hits"]["hits"][0].get("fields") or {}
    start, end = fields.get(PASSAGE_SPAN_FIELDS[0]), fields.get(PASSAGE_SPAN_FIELDS[1])
    return (int(start[0]), int(end[0])) if start and end else None


def response_error(response: Mapping[str, object]) -> str | None:
    """The reason of a failed ``_msearch`` item, if it failed."""
    error = response.get("error")
    if not error:
        return None
    if isinstance(error, Mapping):
        root = (error.get("root_cause") or [{}])[0]
        return str(root.get("reason") or error.get("reason") or error)
    return str(error)


RED_HINT = "is the cluster red? `GET _cluster/health` says which shards are unassigned"


def item_failure(response: Mapping[str, object], what: str) -> BackendError | None:
    """The error for a failed ``_msearch`` item (None if it did not fail). The cluster failing (an item
    status of 5xx: shards unavailable, a node gone mid-search) is ``BackendUnavailableError`` — a 503 at
    the proxy, worth retrying — and anything else a refusal of the request."""
    error = response_error(response)
    if error is None:
        return None
    status = response.get("status")
    shards = "shard" in error.lower()
    if (isinstance(status, int) and status >= 500) or (shards and "unavailable" in error.lower()):
        return BackendUnavailableError(f"{what} failed: {error}" + (f" ({RED_HINT})" if shards else ""))
    return BackendError(f"{what} failed: {error}")


def shard_shortfall(response: Mapping[str, object]) -> tuple[int, int, str] | None:
    """``(missing, total, first reason)`` when some of a search's shards did not answer, else None.

    A shard that failed is counted in ``failed``; one with no active copy (its node is gone and it has no
    replica) in neither ``failed`` nor ``successful``: both are missing."""
    shards = response.get("_shards")
    if not isinstance(shards, Mapping):
        return None
    total = int(shards.get("total") or 0)
    missing = total - int(shards.get("successful") or 0) - int(shards.get("skipped") or 0)
    if missing <= 0:
        return None
    failures = shards.get("failures") or [{}]
    reason = failures[0].get("reason") if isinstance(failures[0], Mapping) else None
    if isinstance(reason, Mapping):
        reason = reason.get("reason") or reason.get("type")
    return missing, total, str(reason or "no active copy of the shard: its node is gone")


def msearch_lists(msearch_response: Mapping[str, object], queries: Sequence[SideQuery]) -> list[RankedList]:
    """One ranked list per ``_msearch`` item. A failed item raises, naming its sub-query; an item none of
    whose shards answered raises ``BackendUnavailableError``; one that some shards missed comes back as a
    ``ShardShortfall`` that says so (a search never silently returns partial results)."""
    responses = msearch_response["responses"]  # type: ignore[index]
    lists: list[RankedList] = []
    for query, response in zip(queries, responses):
        failure = item_failure(response, describe(query))
        if failure is not None:
            raise failure
        ranked = ranked_list(response)
        shortfall = shard_shortfall(response)
        if shortfall is not None:
            missing, total, reason = shortfall
            if missing >= total:
                raise BackendUnavailableError(f"{describe(query)}: none of the index's {total} shards answered "
                                              f"({reason}); {RED_HINT}")
            ranked = ShardShortfall(ranked, f"partial results: {missing} of {total} shards did not answer "
                                                  f"{describe(query)} ({reason}); documents on them are missing")
        lists.append(ranked)
    return lists


def stored_document(source: Mapping[str, object]) -> StoredDocument:
    """A document's ``_source`` as title, text and the remaining metadata."""
    fields = dict(source)
    fields.pop(ID_FIELD, None)
    return StoredDocument(str(fields.pop(TITLE_FIELD, "")), str(fields.pop(TEXT_FIELD, "")), fields)  # type: ignore[arg-type]


def stored_documents(mget_response: Mapping[str, object]) -> dict[str, StoredDocument]:
    """The found documents of an ``_mget`` answer. A document whose shard could not answer is an error,
    not a missing document: the page would silently lose its text."""
    docs = mget_response["docs"]
    failed = [d for d in docs if d.get("error")]  # type: ignore[union-attr]
    if failed:
        raise BackendUnavailableError(f"fetching {len(failed)} of the page's documents failed: "
                                      f"{response_error(failed[0])} ({RED_HINT})")
    return {d["_id"]: stored_document(d["_source"]) for d in docs if d.get("found")}  # type: ignore[index, union-attr]


FETCH_EXCLUDES = [VECTOR_FIELD, PASSAGES_FIELD]


def facet_aggregations(query: FacetQuery) -> dict[str, object]:
    """One aggregation per facet field, named by position (field names stay out of keys): a histogram of
    interval 1 for integer fields, the top ``size`` terms (count, then value) for keyword fields; shard
    sizes large enough that the counts are exact over the candidates."""
    aggs: dict[str, object] = {}
    for i, (field, kind) in enumerate(query.fields):
        if kind == "integer":
            aggs[f"f{i}"] = {"histogram": {"field": field, "interval": 1, "min_doc_count": 1}}
        else:
            aggs[f"f{i}"] = {"terms": {"field": field, "size": query.size, "shard_size": max(len(query.candidates), query.size),
                                       "order": [{"_count": "desc"}, {"_key": "asc"}]}}
    return aggs


def page_lines(index: str, ids: Sequence[str], facets: FacetQuery) -> list[Mapping[str, object]]:
    """One ``_msearch``: the page's documents by id, and the facets as aggregations over the candidates."""
    return [
        {"index": index}, {"size": len(ids), "query": {"ids": {"values": list(ids)}}, "_source": {"excludes": FETCH_EXCLUDES}},
        {"index": index}, {"size": 0, "query": {"ids": {"values": list(facets.candidates)}},
                           "aggs": facet_aggregations(facets)},
    ]


def page_answer(msearch_response: Mapping[str, object], facets: FacetQuery) -> tuple[dict[str, StoredDocument], FacetCounts]:
    """The page's documents and the facet counts from ``page_lines``' answer."""
    documents, counts = msearch_response["responses"]  # type: ignore[index]
    for part, response in (("the page's documents", documents), ("the facet counts", counts)):
        failure = item_failure(response, f"fetching {part}")
        if failure is not None:
            raise failure
    stored = {h["_id"]: stored_document(h["_source"]) for h in documents["hits"]["hits"]}
    aggregations = counts.get("aggregations", {})
    out: FacetCounts = {}
    for i, (field, kind) in enumerate(facets.fields):
        buckets = aggregations.get(f"f{i}", {}).get("buckets", [])
        out[field] = ordered(((b["key"], int(b["doc_count"])) for b in buckets), kind, facets.size)
    return stored, out


def catalog(mappings: Mapping[str, object], aliases: Mapping[str, object]) -> list[tuple[str, str, IndexMeta]]:
    """``(name, physical index, record)`` for every index hybrid built, listed under each alias (or its
    own name), from ``GET */_mapping`` and ``GET */_alias``."""
    out = []
    for physical, body in sorted(mappings.items()):
        block = meta_block(body["mappings"])  # type: ignore[index]
        if not block:
            continue
        meta = IndexMeta.from_block(block, physical)
        names = sorted(aliases.get(physical, {}).get("aliases", {})) or [physical]  # type: ignore[union-attr]
        out += [(name, physical, meta) for name in names]
    return out


def entries(listed: Sequence[tuple[str, str, IndexMeta]], counts: Mapping[str, int]) -> list[IndexEntry]:
    return [IndexEntry(name, counts.get(physical, 0), meta) for name, physical, meta in listed]
