"""The search entry points: ``Searcher`` (blocking: CLI, evaluation, Python) and ``AsyncSearcher``
(the proxy). Both run the pure steps of ``pipeline`` and differ only in how they wait for I/O."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from hybrid.index_meta import IndexMeta
from hybrid.recipes.fingerprint import Fingerprint, check_fingerprint
from hybrid.retrieval.backend import AsyncSearchBackend, SearchBackend
from hybrid.retrieval.pipeline import SearchPlan, plan_search
from hybrid.retrieval.request import BadRequestError, SearchRequest
from hybrid.retrieval.types import SearchResponse, shortfall_warnings

if TYPE_CHECKING:
    from hybrid.encoders import Encoder

NO_ENCODER = "dense and hybrid modes need an encoder; none was loaded"
NO_RERANKER = ("rerank needs a cross-encoder and none is configured: name one with --reranker "
               "(or the 'reranker' setting, env HYBRID_RERANKER)")


class Reranker(Protocol):
    """What the rerank stage needs of a cross-encoder (``hybrid.rerank.cross_encoder.CrossEncoder``)."""

    name: str
    fingerprint: str

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray: ...


def reranker_label(reranker: Reranker) -> str:
    return f"{reranker.name} ({reranker.fingerprint})"


class Searcher:
    """Searches one index of a backend; ``encoder`` may be None for BM25-only use, ``reranker`` None
    when no search asks for a rerank stage."""

    def __init__(self, backend: SearchBackend, encoder: Encoder | None, reranker: Reranker | None = None) -> None:
        self.backend = backend
        self.encoder = encoder
        self.reranker = reranker

    @property
    def index(self) -> str:
        return self.backend.index

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        plan = plan_search(request, self.backend.index_meta())
        vector = self._query_vector(plan)
        lists = self.backend.retrieve(plan.queries(vector))
        ranked = plan.rank(lists)
        if plan.rerank_depth(ranked) and self.reranker is None:
            raise BadRequestError(NO_RERANKER)
        stored, facets = self.backend.fetch_page(plan.fetch_ids(ranked), plan.facet_query(ranked))
        ids, passages = plan.rerank_pairs(ranked, stored)
        if ids and self.reranker is not None:
            ranked = plan.reranked(ranked, ids, self.reranker.score(plan.request.query, passages))
        closest = {}
        snippets = plan.dense_snippets(ranked, stored)
        if snippets is not None and vector is not None and self.encoder is not None:
            closest = snippets.closest(self.encoder.encode_passages(snippets.pieces, show_progress=False), vector)
        return plan.respond(self.index, ranked, stored, started, facets, closest, shortfall_warnings(lists),
                            reranker_label(self.reranker) if self.reranker else None)

    def embed_queries(self, queries: list[str], instruction: str | None) -> np.ndarray:
        """Query embeddings in batches, after checking the encoder against the index's fingerprint."""
        if self.encoder is None:
            raise BadRequestError(NO_ENCODER)
        check_fingerprint(self.backend.index_meta().fingerprint, self.encoder.fingerprint, index=self.index)
        return self.encoder.encode_queries(queries, instruction=instruction, show_progress=False)

    def _query_vector(self, plan: SearchPlan) -> np.ndarray | None:
        if not plan.needs_vector:
            return None
        if self.encoder is None:
            raise BadRequestError(NO_ENCODER)
        plan.check_encoder(self.encoder.fingerprint, self.index)
        return self.encoder.encode_queries([plan.request.query], instruction=plan.instruction, show_progress=False)[0]


class QueryEmbedding(Protocol):
    """How the async path gets a query vector (the proxy's micro-batcher implements it)."""

    @property
    def fingerprint(self) -> Fingerprint: ...

    async def embed(self, text: str, instruction: str | None) -> np.ndarray: ...

    async def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class AsyncSearcher:
    """Searches one index of an async backend; ``embedding_for`` gives the query embedding for an index
    with a given record (awaited only by dense and hybrid searches, so it may load a model)."""

    def __init__(self, backend: AsyncSearchBackend,
                 embedding_for: Callable[[IndexMeta], Awaitable[QueryEmbedding]],
                 observe: Callable[[str, float], None] | None = None, reranker: Reranker | None = None) -> None:
        self.backend = backend
        self.embedding_for = embedding_for
        self.observe = observe  # told each stage's seconds: embed, retrieve, fusion, fetch, rerank, snippets
        self.reranker = reranker

    @property
    def index(self) -> str:
        return self.backend.index

    async def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        plan = plan_search(request, await self.backend.index_meta())
        lap = time.perf_counter()
        vector = await self._query_vector(plan)
        if vector is not None:
            lap = self._stage("embed", lap)
        lists = await self.backend.retrieve(plan.queries(vector))
        lap = self._stage("retrieve", lap)
        ranked = plan.rank(lists)
        lap = self._stage("fusion", lap)
        if plan.rerank_depth(ranked) and self.reranker is None:
            raise BadRequestError(NO_RERANKER)
        stored, facets = await self.backend.fetch_page(plan.fetch_ids(ranked), plan.facet_query(ranked))
        lap = self._stage("fetch", lap)
        ids, passages = plan.rerank_pairs(ranked, stored)
        if ids and self.reranker is not None:  # the model runs off the event loop
            scores = await asyncio.to_thread(self.reranker.score, plan.request.query, passages)
            ranked = plan.reranked(ranked, ids, scores)
            lap = self._stage("rerank", lap)
        closest = {}
        snippets = plan.dense_snippets(ranked, stored)
        if snippets is not None and vector is not None:
            embedding = await self.embedding_for(plan.meta)
            closest = snippets.closest(await embedding.embed_passages(snippets.pieces), vector)
            self._stage("snippets", lap)
        return plan.respond(self.index, ranked, stored, started, facets, closest, shortfall_warnings(lists),
                            reranker_label(self.reranker) if self.reranker else None)

    def _stage(self, name: str, since: float) -> float:
        now = time.perf_counter()
        if self.observe is not None:
            self.observe(name, now - since)
        return now

    async def _query_vector(self, plan: SearchPlan) -> np.ndarray | None:
        if not plan.needs_vector:
            return None
        embedding = await self.embedding_for(plan.meta)
        plan.check_encoder(embedding.fingerprint, self.index)
        return await embedding.embed(plan.request.query, plan.instruction)
