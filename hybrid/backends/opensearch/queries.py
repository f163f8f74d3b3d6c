"""Query bodies and response parsing for the OpenSearch backend: pure functions, no I/O, so the sync
CLI path and the async proxy path share them. User text only ever lands in values, never in keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hybrid.backends.base import ID_FIELD, TEXT_FIELD, TITLE_BOOST, TITLE_FIELD, VECTOR_FIELD, BackendError
from hybrid.backends.opensearch.mapping import stored_meta
from hybrid.retrieval.fusion import Run
from hybrid.retrieval.request import Filter, RangeFilter, TermFilter
from hybrid.retrieval.types import StoredDocument

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


def bm25_body(query: str, size: int, filters: Sequence[Filter], *, title_boost: float = TITLE_BOOST) -> dict[str, object]:
    """``multi_match`` over title (boosted) and text, best field wins; filters as ``bool.filter``."""
    return {
        "size": size,
        **IDS_ONLY,
        "query": {
            "bool": {
                "must": [{"multi_match": {"query": query, "fields": [f"{TITLE_FIELD}^{title_boost}", TEXT_FIELD],
                                          "type": "best_fields"}}],
                "filter": filter_clauses(filters),
            }
        },
    }


def knn_body(vector: np.ndarray, size: int, filters: Sequence[Filter]) -> dict[str, object]:
    """Lucene k-NN with the filter inside the ``knn`` clause: k filtered neighbours, not k then filtered."""
    knn: dict[str, object] = {"vector": [float(x) for x in vector], "k": size}
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = {"bool": {"filter": clauses}}
    return {"size": size, **IDS_ONLY, "query": {"knn": {VECTOR_FIELD: knn}}}


def msearch_body(index: str, bodies: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    lines: list[Mapping[str, object]] = []
    for body in bodies:
        lines += [{"index": index}, body]
    return lines


def run_of(response: Mapping[str, object]) -> Run:
    """``(doc_id, score)`` pairs, best first, from a search response."""
    hits = response["hits"]["hits"]  # type: ignore[index]
    return [(str(h["fields"][ID_FIELD][0]), float(h["_score"])) for h in hits]


def response_error(response: Mapping[str, object]) -> str | None:
    """The reason of a failed ``_msearch`` item, if it failed."""
    error = response.get("error")
    if not error:
        return None
    if isinstance(error, Mapping):
        root = (error.get("root_cause") or [{}])[0]
        return str(root.get("reason") or error.get("reason") or error)
    return str(error)


def index_meta(mapping_response: Mapping[str, object], index: str) -> dict[str, object]:
    """The ``_meta.hybrid`` block of ``GET index/_mapping``; refuses an index hybrid did not build."""
    block = stored_meta(mapping_response, next(iter(mapping_response)))
    if block is None:
        raise BackendError(f"index {index!r} was not built by hybrid (no _meta.hybrid in its mapping)")
    return block


def hybrid_bodies(query: str, vector: np.ndarray, size: int, filters: Sequence[Filter]) -> list[dict[str, object]]:
    """The two sub-queries of a hybrid search, in the order (bm25, k-NN)."""
    return [bm25_body(query, size, filters), knn_body(vector, size, filters)]


def msearch_runs(msearch_response: Mapping[str, object], labels: Sequence[str]) -> list[Run]:
    """One run per ``_msearch`` item; a failed item raises, naming its label."""
    responses = msearch_response["responses"]  # type: ignore[index]
    for label, response in zip(labels, responses):
        error = response_error(response)
        if error:
            raise BackendError(f"{label} failed: {error}")
    return [run_of(r) for r in responses]


def stored_document(source: Mapping[str, object]) -> StoredDocument:
    """A document's ``_source`` as title, text and the remaining metadata."""
    fields = dict(source)
    fields.pop(ID_FIELD, None)
    return StoredDocument(str(fields.pop(TITLE_FIELD, "")), str(fields.pop(TEXT_FIELD, "")), fields)  # type: ignore[arg-type]


HYBRID_LABELS = ("the bm25 half of the hybrid query", "the k-NN half of the hybrid query")
