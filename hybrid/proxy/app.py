"""``create_app(settings)``: the FastAPI search proxy.

The lifespan loads the encoder once (off the event loop), owns the async OpenSearch client (or the
embedded store) and the query micro-batcher; routes live in ``routes.py``; errors map to HTTP in
``errors.py``. Nothing is built at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse

from hybrid import __version__
from hybrid.backends.base import BackendError
from hybrid.encoders import Encoder, load_encoder
from hybrid.proxy import errors
from hybrid.proxy.batching import QueryEmbedder
from hybrid.proxy.service import AsyncSearchBackend, AsyncSearcher, ThreadedBackend
from hybrid.settings import Settings, load_settings


@dataclass
class ProxyState:
    """What the lifespan owns; one per app."""

    settings: Settings
    encoder: Encoder
    embedder: QueryEmbedder
    client: object | None = None  # AsyncOpenSearch, when an OpenSearch URL is configured
    searchers: dict[str, AsyncSearcher] = field(default_factory=dict)

    def backend(self, index: str) -> AsyncSearchBackend:
        if self.client is not None:
            from hybrid.backends.opensearch.async_search import AsyncOpenSearchSearch

            return AsyncOpenSearchSearch(self.client, index)  # type: ignore[arg-type]
        from hybrid.backends.embedded.search import EmbeddedSearch

        return ThreadedBackend(EmbeddedSearch(self.settings.embedded_dir, index))

    def searcher(self, index: str) -> AsyncSearcher:
        # Cached per index only once it opened: a missing index is looked up again next time.
        if index not in self.searchers:
            self.searchers[index] = AsyncSearcher(self.backend(index), self.embedder, index=index)
        return self.searchers[index]

    def forget(self, index: str) -> None:
        self.searchers.pop(index, None)


def _async_client(settings: Settings):  # type: ignore[no-untyped-def]
    from opensearchpy import AsyncOpenSearch

    from hybrid.backends.opensearch.client import client_options

    options = client_options(settings)
    # Fail fast (the proxy answers 503 within the timeout) rather than retrying behind the caller's back.
    options.update(timeout=settings.proxy_timeout_s, max_retries=0, retry_on_timeout=False)
    return AsyncOpenSearch(**options)


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None) -> FastAPI:
    """The proxy for ``settings`` (default: built from flags/env/config now). ``encoder`` skips loading one."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = encoder or await asyncio.to_thread(load_encoder, settings.model, device=settings.device)
        embedder = QueryEmbedder(model, enabled=settings.proxy_batching, window_ms=settings.proxy_batch_window_ms)
        await embedder.start()
        state = ProxyState(settings, model, embedder)
        if settings.opensearch_url:
            state.client = _async_client(settings)
        app.state.proxy = state
        try:
            yield
        finally:
            await embedder.close()
            if state.client is not None:
                await state.client.close()  # type: ignore[attr-defined]

    app = FastAPI(
        title="hybrid search proxy",
        version=__version__,
        description="Hybrid BM25 + dense retrieval over OpenSearch (or the embedded store): send text, get ranked documents.",
        lifespan=lifespan,
    )
    if settings.proxy_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.proxy_cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key"])
    errors.install(app)
    from hybrid.proxy.routes import router

    app.include_router(router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return resources.files("hybrid.proxy").joinpath("static", "index.html").read_text(encoding="utf-8")

    return app


__all__ = ["BackendError", "ProxyState", "create_app"]
