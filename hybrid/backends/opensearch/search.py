"""``SearchBackend`` for OpenSearch: BM25 and k-NN runs, both in one ``_msearch``, documents by id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from hybrid.backends.base import IndexNotFoundError
from hybrid.backends.opensearch.queries import (
    HYBRID_LABELS,
    bm25_body,
    hybrid_bodies,
    index_meta,
    knn_body,
    msearch_body,
    msearch_runs,
    run_of,
    stored_document,
)
from hybrid.documents import MetadataFields
from hybrid.encoders import Fingerprint
from hybrid.retrieval.fusion import Run
from hybrid.retrieval.request import Filter
from hybrid.retrieval.types import StoredDocument

if TYPE_CHECKING:
    from opensearchpy import OpenSearch


class OpenSearchSearch:
    def __init__(self, client: OpenSearch, index: str) -> None:
        self.client = client
        self.index = index
        self._meta: dict[str, object] | None = None

    def _index_meta(self) -> dict[str, object]:
        if self._meta is None:
            from opensearchpy import NotFoundError

            try:
                response = self.client.indices.get_mapping(index=self.index)
            except NotFoundError:
                raise IndexNotFoundError(f"index {self.index!r} does not exist on {self._where()}") from None
            self._meta = index_meta(response, self.index)
        return self._meta

    def _where(self) -> str:
        hosts = getattr(self.client.transport, "hosts", None) or [{}]
        host = hosts[0]
        return f"http://{host.get('host', '?')}:{host.get('port', '?')}"

    def fingerprint(self) -> Fingerprint:
        return Fingerprint.from_meta(self._index_meta()["fingerprint"])  # type: ignore[arg-type]

    def filterable_fields(self) -> MetadataFields:
        return dict(self._index_meta().get("metadata_fields") or {})  # type: ignore[call-overload]

    def _search(self, body: dict[str, object]) -> Run:
        self._index_meta()
        return run_of(self.client.search(index=self.index, body=body))

    def lexical(self, query: str, size: int, filters: tuple[Filter, ...]) -> Run:
        return self._search(bm25_body(query, size, filters))

    def dense(self, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> Run:
        return self._search(knn_body(vector, size, filters))

    def both(self, query: str, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> tuple[Run, Run]:
        self._index_meta()
        body = msearch_body(self.index, hybrid_bodies(query, vector, size, filters))
        lexical, dense = msearch_runs(self.client.msearch(body=body), HYBRID_LABELS)
        return lexical, dense

    def lexical_many(self, queries: list[str], size: int) -> list[Run]:
        self._index_meta()
        if not queries:
            return []
        body = msearch_body(self.index, [bm25_body(q, size, ()) for q in queries])
        return msearch_runs(self.client.msearch(body=body), [f"BM25 for {q[:60]!r}" for q in queries])

    def fetch(self, ids: list[str]) -> dict[str, StoredDocument]:
        if not ids:
            return {}
        response = self.client.mget(index=self.index, body={"ids": ids}, _source_excludes=["vector"])
        return {d["_id"]: stored_document(d["_source"]) for d in response["docs"] if d.get("found")}

    def documents(self) -> Iterator[tuple[str, StoredDocument]]:
        from opensearchpy.helpers import scan

        self._index_meta()
        for hit in scan(self.client, index=self.index, query={"query": {"match_all": {}}}, size=500,
                        _source_excludes=["vector"], preserve_order=False):
            yield hit["_id"], stored_document(hit["_source"])

    def count(self) -> int:
        self._index_meta()
        return int(self.client.count(index=self.index)["count"])
