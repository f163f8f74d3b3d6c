"""``SearchBackend`` on OpenSearch (blocking client): every sub-query of a search in one ``_msearch``,
documents by id. Bodies and parsing are ``queries.py``'s, shared with the async backend."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from hybrid.backends.opensearch.errors import translated
from hybrid.backends.opensearch.handle import IndexHandle
from hybrid.backends.opensearch.queries import (
    FETCH_EXCLUDES,
    msearch_lines,
    msearch_lists,
    page_answer,
    page_lines,
    sample_body,
    stored_document,
    stored_documents,
)
from hybrid.index_meta import IndexMeta
from hybrid.retrieval.facets import FacetCounts, FacetQuery
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.types import SideQuery, StoredDocument

if TYPE_CHECKING:
    from opensearchpy import OpenSearch


class OpenSearchSearch(IndexHandle):
    client: OpenSearch

    @translated
    def index_meta(self) -> IndexMeta:
        return self._meta or self._remember(self.client.indices.get_mapping(index=self.index))

    @translated
    def retrieve(self, queries: Sequence[SideQuery]) -> list[RankedList]:
        meta = self.index_meta()
        if not queries:
            return []
        return msearch_lists(self.client.msearch(body=msearch_lines(self.index, queries, meta)), queries)

    @translated
    def fetch(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        if not ids:
            return {}
        return stored_documents(self.client.mget(index=self.index, body={"ids": list(ids)},
                                                 _source_excludes=FETCH_EXCLUDES))

    @translated
    def fetch_page(self, ids: Sequence[str], facets: FacetQuery | None) -> tuple[dict[str, StoredDocument], FacetCounts | None]:
        if facets is None:
            return self.fetch(ids), None
        return page_answer(self.client.msearch(body=page_lines(self.index, ids, facets)), facets)

    @translated
    def documents(self) -> Iterator[tuple[str, StoredDocument]]:
        from opensearchpy.helpers import scan

        self.index_meta()
        for hit in scan(self.client, index=self.index, query={"query": {"match_all": {}}}, size=500,
                        _source_excludes=FETCH_EXCLUDES, preserve_order=False):
            yield hit["_id"], stored_document(hit["_source"])

    @translated
    def sample(self, size: int, seed: int) -> list[tuple[str, StoredDocument]]:
        response = self.client.search(index=self.index, body=sample_body(size, seed), _source_excludes=FETCH_EXCLUDES)
        return [(hit["_id"], stored_document(hit["_source"])) for hit in response["hits"]["hits"]]

    @translated
    def count(self) -> int:
        self.index_meta()
        return int(self.client.count(index=self.index)["count"])

    def close(self) -> None:
        """The client belongs to the backend that made this object; it closes it."""
