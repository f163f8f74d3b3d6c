"""What the proxy's routes depend on: the state the lifespan owns and the API-key check, as
``Annotated`` aliases (routes import this module; it imports no route and not the app)."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, HTTPException, Request

from hybrid.backends.base import Backend
from hybrid.index_meta import IndexMeta
from hybrid.proxy.batching import QueryEmbedder
from hybrid.proxy.observability import ProxyMetrics
from hybrid.recipes import DEFAULT_MODEL, EncoderSpec, model_for_index
from hybrid.retrieval.searcher import AsyncSearcher, Reranker
from hybrid.settings import Settings

if TYPE_CHECKING:
    from hybrid.encoders import Encoder


@dataclass
class ProxyState:
    """One per app: the backend, the query embedders (one per encoder in use) and a searcher per index.

    Each index is searched with the encoder that built it (``model_for_index``: the preset that matches
    its fingerprint, unless ``settings.model`` or an injected encoder says otherwise), loaded on first use.
    """

    settings: Settings
    backend: Backend
    encoder: Encoder | None = None  # given: used for every index
    reranker: Reranker | None = None  # the rerank stage's cross-encoder (settings 'reranker', loaded at start)
    metrics: ProxyMetrics = field(default_factory=ProxyMetrics)
    embedders: dict[str | EncoderSpec, QueryEmbedder] = field(default_factory=dict)
    searchers: dict[str, AsyncSearcher] = field(default_factory=dict)
    _choices: dict[tuple[str, str | None], str | EncoderSpec] = field(default_factory=dict)
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)

    def searcher(self, index: str) -> AsyncSearcher:
        if index not in self.searchers:
            self.searchers[index] = AsyncSearcher(self.backend.async_search(index), self.embedding_for,
                                                  observe=self.metrics.stage, reranker=self.reranker)
        return self.searchers[index]

    def forget(self, index: str) -> None:
        """Drop a searcher whose index turned out to be missing, so it is looked up again next time."""
        self.searchers.pop(index, None)

    async def embedding_for(self, meta: IndexMeta | None) -> QueryEmbedder:
        """The embedder for an index with this record (None: the default model)."""
        name = "" if self.encoder is not None else self._encoder_choice(meta)
        if name in self.embedders:  # the common case: no lock, no model lookup
            return self.embedders[name]
        async with self._loading:
            if name not in self.embedders:
                encoder = self.encoder or await asyncio.to_thread(self._load, name)
                embedder = QueryEmbedder(encoder, enabled=self.settings.proxy_batching,
                                         wait_ms=self.settings.proxy_batch_wait_ms,
                                         cache_size=self.settings.proxy_query_cache, metrics=self.metrics)
                await embedder.start()
                self.embedders[name] = embedder
        return self.embedders[name]

    def _encoder_choice(self, meta: IndexMeta | None) -> str | EncoderSpec:
        if meta is None:
            return self.settings.model or DEFAULT_MODEL
        key = (meta.fingerprint.id, meta.encoder_source)
        if key not in self._choices:
            self._choices[key] = model_for_index(meta.fingerprint, self.settings.model, meta.encoder_source)
        return self._choices[key]

    def _load(self, name: str | EncoderSpec) -> Encoder:
        from hybrid.encoders import load_encoder

        return load_encoder(name, device=self.settings.device, precision=self.settings.precision)

    async def close(self) -> None:
        for embedder in self.embedders.values():
            await embedder.close()
        await self.backend.aclose()


def _state(request: Request) -> ProxyState:
    return request.app.state.proxy  # type: ignore[no-any-return]


def require_api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    keys = _state(request).settings.proxy_api_keys
    if not keys:
        return
    if x_api_key is None or not any(hmac.compare_digest(x_api_key, k.get_secret_value()) for k in keys):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key")


State = Annotated[ProxyState, Depends(_state)]
