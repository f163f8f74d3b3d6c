"""The OpenSearch search backend on the async client (for the proxy). Query bodies and response
parsing are the same pure functions the sync backend uses (``queries.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hybrid.backends.base import ID_FIELD, TEXT_FIELD, TITLE_FIELD, BackendError, IndexNotFoundError
from hybrid.backends.opensearch.mapping import stored_meta
from hybrid.backends.opensearch.queries import bm25_body, knn_body, msearch_body, response_error, run_of
from hybrid.documents import MetadataFields
from hybrid.encoders import Fingerprint
from hybrid.retrieval.fusion import Run
from hybrid.retrieval.request import Filter
from hybrid.retrieval.types import StoredDocument

if TYPE_CHECKING:
    from opensearchpy import AsyncOpenSearch


def stored_document(source: dict[str, object]) -> StoredDocument:
    source = dict(source)
    source.pop(ID_FIELD, None)
    return StoredDocument(str(source.pop(TITLE_FIELD, "")), str(source.pop(TEXT_FIELD, "")), source)  # type: ignore[arg-type]


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
            block = stored_meta(response, next(iter(response)))
            if block is None:
                raise BackendError(f"index {self.index!r} was not built by hybrid (no _meta.hybrid in its mapping)")
            self._meta = block
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
        bodies = [bm25_body(query, size, filters), knn_body(vector, size, filters)]
        responses = (await self.client.msearch(body=msearch_body(self.index, bodies)))["responses"]
        for side, response in zip(("bm25", "k-NN"), responses):
            error = response_error(response)
            if error:
                raise BackendError(f"the {side} half of the hybrid query failed: {error}")
        return run_of(responses[0]), run_of(responses[1])

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
