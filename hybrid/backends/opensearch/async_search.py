"""The OpenSearch search backend on the async client (for the proxy). Query bodies and response
parsing are the same pure functions the sync backend uses (``queries.py``)."""

from __future__ import annotations

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
    from opensearchpy import AsyncOpenSearch


class AsyncOpenSearchSearch:
    def __init__(self, client: AsyncOpenSearch, index: str) -> None:
        self.client = client
        self.index = index
        self._meta: dict[str, object] | None = None

    async def _index_meta(self) -> dict[str, object]:
        if self._meta is None:
            from opensearchpy import NotFoundError

            try:
                response = await self.client.indices.get_mapping(index=self.index)
            except NotFoundError:
                raise IndexNotFoundError(f"index {self.index!r} does not exist") from None
            self._meta = index_meta(response, self.index)
        return self._meta

    async def fingerprint(self) -> Fingerprint:
        return Fingerprint.from_meta((await self._index_meta())["fingerprint"])  # type: ignore[arg-type]

    async def filterable_fields(self) -> MetadataFields:
        return dict((await self._index_meta()).get("metadata_fields") or {})  # type: ignore[call-overload]

    async def lexical(self, query: str, size: int, filters: tuple[Filter, ...]) -> Run:
        return run_of(await self.client.search(index=self.index, body=bm25_body(query, size, filters)))

    async def dense(self, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> Run:
        return run_of(await self.client.search(index=self.index, body=knn_body(vector, size, filters)))

    async def both(self, query: str, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> tuple[Run, Run]:
        body = msearch_body(self.index, hybrid_bodies(query, vector, size, filters))
        lexical, dense = msearch_runs(await self.client.msearch(body=body), HYBRID_LABELS)
        return lexical, dense

    async def fetch(self, ids: list[str]) -> dict[str, StoredDocument]:
        if not ids:
            return {}
        response = await self.client.mget(index=self.index, body={"ids": ids}, _source_excludes=["vector"])
        return {d["_id"]: stored_document(d["_source"]) for d in response["docs"] if d.get("found")}

    async def count(self) -> int:
        await self._index_meta()
        return int((await self.client.count(index=self.index))["count"])

    async def ping(self) -> bool:
        return bool(await self.client.ping())
