"""The async search path: the same pure steps as the sync ``Searcher`` (validate, rank, page,
attach documents), with awaited I/O and micro-batched query embeddings."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import numpy as np

from hybrid.documents import MetadataFields
from hybrid.encoders import Fingerprint, check_fingerprint, resolve_instruction
from hybrid.proxy.batching import QueryEmbedder
from hybrid.retrieval import BadRequestError, SearchRequest, SearchResponse, StoredDocument
from hybrid.retrieval.fusion import Run
from hybrid.retrieval.request import Filter
from hybrid.retrieval.retrievers import ranked_hits
from hybrid.retrieval.searcher import page_of, response_for, with_documents
from hybrid.retrieval.types import SearchBackend


class AsyncSearchBackend(Protocol):
    async def fingerprint(self) -> Fingerprint: ...
    async def filterable_fields(self) -> MetadataFields: ...
    async def lexical(self, query: str, size: int, filters: tuple[Filter, ...]) -> Run: ...
    async def dense(self, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> Run: ...
    async def both(self, query: str, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> tuple[Run, Run]: ...
    async def fetch(self, ids: list[str]) -> dict[str, StoredDocument]: ...
    async def count(self) -> int: ...


class ThreadedBackend:
    """A sync backend (the embedded store) behind the async protocol: each call on a worker thread."""

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    async def fingerprint(self) -> Fingerprint:
        return self.backend.fingerprint()

    async def filterable_fields(self) -> MetadataFields:
        return self.backend.filterable_fields()

    async def lexical(self, query: str, size: int, filters: tuple[Filter, ...]) -> Run:
        return await asyncio.to_thread(self.backend.lexical, query, size, filters)

    async def dense(self, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> Run:
        return await asyncio.to_thread(self.backend.dense, vector, size, filters)

    async def both(self, query: str, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> tuple[Run, Run]:
        return await asyncio.to_thread(self.backend.both, query, vector, size, filters)

    async def fetch(self, ids: list[str]) -> dict[str, StoredDocument]:
        return await asyncio.to_thread(self.backend.fetch, ids)

    async def count(self) -> int:
        return self.backend.count()


class AsyncSearcher:
    def __init__(self, backend: AsyncSearchBackend, embedder: QueryEmbedder, *, index: str) -> None:
        self.backend = backend
        self.embedder = embedder
        self.index = index
        self._checked = False

    async def _check_encoder(self) -> None:
        if not self._checked:
            check_fingerprint(await self.backend.fingerprint(), self.embedder.encoder.fingerprint, index=self.index)
            self._checked = True

    async def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        request.validate(await self.backend.filterable_fields())
        if request.instruction is not None:
            try:
                resolve_instruction(request.instruction)
            except ValueError as exc:
                raise BadRequestError(str(exc)) from None
        lexical = dense = None
        depth = request.depth
        if request.mode == "bm25":
            lexical = await self.backend.lexical(request.query, depth, request.filters)
        else:
            await self._check_encoder()
            vector = await self.embedder.embed(request.query, request.instruction)
            if request.mode == "dense":
                dense = await self.backend.dense(vector, depth, request.filters)
            else:
                lexical, dense = await self.backend.both(request.query, vector, depth, request.filters)
        ranked = ranked_hits(request.mode, lexical, dense, request.fusion, depth)
        page = page_of(ranked, request)
        stored = await self.backend.fetch([h.doc_id for h in page])
        return response_for(self.index, request, ranked, with_documents(page, stored), started)
