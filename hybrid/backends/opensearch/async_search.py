"""``AsyncSearchBackend`` on OpenSearch (the proxy's async client): the same bodies and parsing as the
blocking backend (``queries.py``), awaited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from hybrid.backends.opensearch.errors import translated
from hybrid.backends.opensearch.handle import IndexHandle
from hybrid.backends.opensearch.queries import (
    FETCH_EXCLUDES,
    msearch_lines,
    msearch_lists,
    page_answer,
    page_lines,
    stored_documents,
)
from hybrid.index_meta import IndexMeta
from hybrid.retrieval.facets import FacetCounts, FacetQuery
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.types import SideQuery, StoredDocument

if TYPE_CHECKING:
    from opensearchpy import AsyncOpenSearch


class AsyncOpenSearchSearch(IndexHandle):
    client: AsyncOpenSearch

    def __init__(self, client: AsyncOpenSearch, index: str, *,
                 checked: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__(client, index)
        self._checked = checked  # the backend's supported-cluster check, awaited before the index is first read

    @translated
    async def index_meta(self) -> IndexMeta:
        if self._meta is None and self._checked is not None:
            await self._checked()
        return self._meta or self._remember(await self.client.indices.get_mapping(index=self.index))

    @translated
    async def retrieve(self, queries: Sequence[SideQuery]) -> list[RankedList]:
        meta = await self.index_meta()
        if not queries:
            return []
        return msearch_lists(await self.client.msearch(body=msearch_lines(self.index, queries, meta)), queries)

    @translated
    async def fetch(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        if not ids:
            return {}
        return stored_documents(await self.client.mget(index=self.index, body={"ids": list(ids)},
                                                       _source_excludes=FETCH_EXCLUDES))

    @translated
    async def fetch_page(self, ids: Sequence[str],
                         facets: FacetQuery | None) -> tuple[dict[str, StoredDocument], FacetCounts | None]:
        if facets is None:
            return await self.fetch(ids), None
        return page_answer(await self.client.msearch(body=page_lines(self.index, ids, facets)), facets)

    @translated
    async def count(self) -> int:
        await self.index_meta()
        return int((await self.client.count(index=self.index))["count"])
