"""The search entry point the CLI, the proxy and `hybrid eval` share."""

from __future__ import annotations

import time
import numpy as np

from hybrid.encoders import Encoder, check_fingerprint, resolve_instruction
from hybrid.retrieval.request import BadRequestError, SearchRequest
from hybrid.retrieval.retrievers import BM25Retriever, DenseRetriever, HybridRetriever
from hybrid.retrieval.types import Hit, SearchBackend, SearchResponse, StoredDocument


class Searcher:
    """Validates a request, embeds the query once, runs the mode's retriever, pages, fetches bodies.

    The index's encoder fingerprint is checked against ``encoder`` before the first dense query.
    """

    def __init__(self, backend: SearchBackend, encoder: Encoder | None, *, index: str) -> None:
        self.backend = backend
        self.encoder = encoder
        self.index = index
        self._checked = False

    def check_encoder(self) -> Encoder:
        if self.encoder is None:
            raise BadRequestError("dense and hybrid modes need an encoder; none was loaded")
        if not self._checked:
            check_fingerprint(self.backend.fingerprint(), self.encoder.fingerprint, index=self.index)
            self._checked = True
        return self.encoder

    def embed(self, queries: list[str], instruction: str | None) -> np.ndarray:
        return self.check_encoder().encode_queries(queries, instruction=instruction, show_progress=False)

    def retrieve(self, request: SearchRequest, vector: np.ndarray | None = None) -> list[Hit]:
        """Ranked hits down to the request's depth, without bodies (`hybrid eval` uses this directly)."""
        request.validate(self.backend.filterable_fields())
        if request.instruction is not None:
            resolve_instruction(request.instruction)
        if request.mode != "bm25" and vector is None:
            vector = self.embed([request.query], request.instruction)[0]
        lexical, dense = BM25Retriever(self.backend), DenseRetriever(self.backend)
        retriever = {"bm25": lexical, "dense": dense, "hybrid": HybridRetriever(lexical, dense, request.fusion)}
        return retriever[request.mode].retrieve(request.query, vector, request.depth, request.filters)

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        ranked = self.retrieve(request)
        page = page_of(ranked, request)
        stored = self.backend.fetch([h.doc_id for h in page])
        return response_for(self.index, request, ranked, with_documents(page, stored), started)


def page_of(ranked: list[Hit], request: SearchRequest) -> list[Hit]:
    return ranked[request.offset : request.offset + request.k]


def with_documents(page: list[Hit], stored: dict[str, StoredDocument]) -> list[Hit]:
    """The page's hits with title, text and metadata filled in from the stored documents."""
    hits = []
    for hit in page:
        doc = stored.get(hit.doc_id)
        hits.append(hit if doc is None else hit._replace(title=doc.title, text=doc.text, metadata=doc.metadata))
    return hits


def response_for(index: str, request: SearchRequest, ranked: list[Hit], hits: list[Hit], started: float) -> SearchResponse:
    took = (time.perf_counter() - started) * 1000
    return SearchResponse(index, request.mode, tuple(hits), request.offset, len(ranked), took)
