"""``create_app(settings)``: the FastAPI search proxy.

The lifespan opens the backend the settings choose, loads the encoder of the default index (off the
event loop) and closes everything at shutdown; routes live in ``routes.py``, their dependencies in
``deps.py``; errors map to HTTP in ``errors.py``; metrics, request ids and access logs in
``observability.py``. Nothing is built at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse

from hybrid import __version__
from hybrid.backends import open_backend
from hybrid.backends.base import BackendError
from hybrid.index_meta import IndexMeta
from hybrid.proxy import errors, observability
from hybrid.proxy.deps import ProxyState
from hybrid.proxy.observability import ProxyMetrics
from hybrid.settings import Settings, load_settings

if TYPE_CHECKING:
    from hybrid.encoders import Encoder
    from hybrid.retrieval.searcher import Reranker

GZIP_MIN_BYTES = 2048


async def _default_index_meta(state: ProxyState) -> IndexMeta | None:
    """The default index's record, or None when it does not exist (yet) or cannot be read now."""
    try:
        return await state.searcher(state.settings.index).backend.index_meta()
    except (BackendError, ValueError):
        state.forget(state.settings.index)
        return None


def create_app(settings: Settings | None = None, *, encoder: Encoder | None = None,
               reranker: Reranker | None = None) -> FastAPI:
    """The proxy for ``settings`` (default: built from env/config now). ``encoder`` is used for every index;
    ``reranker`` (default: settings 'reranker', loaded at start) serves requests that ask for a rerank."""
    settings = settings or load_settings()
    metrics = ProxyMetrics()  # one registry per app: counts survive a lifespan restart, apps do not share

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cross_encoder = reranker
        if cross_encoder is None and settings.reranker:
            from hybrid.rerank.cross_encoder import load_reranker

            cross_encoder = await asyncio.to_thread(load_reranker, settings.reranker, device=settings.device)
        state = ProxyState(settings, open_backend(settings), encoder, cross_encoder, metrics)
        app.state.proxy = state
        try:
            # Ready means the default index's encoder is in memory: the first query does not wait for it.
            await state.embedding_for(await _default_index_meta(state))
            yield
        finally:
            await state.close()

    app = FastAPI(
        title="hybrid search proxy",
        version=__version__,
        description="Hybrid BM25 + dense retrieval over OpenSearch (or the embedded store): send text, get ranked documents.",
        lifespan=lifespan,
    )
    if settings.proxy_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.proxy_cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key"])
    # A page of hits with snippets, highlights and explain is up to tens of KB of JSON that gzips 2-3x;
    # only clients that send Accept-Encoding: gzip get it compressed, small answers never are.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    errors.install(app)
    observability.install(app, metrics, access_log=settings.proxy_access_log)
    from hybrid.proxy.routes import router

    app.include_router(router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return resources.files("hybrid.proxy").joinpath("static", "index.html").read_text(encoding="utf-8")

    return app
