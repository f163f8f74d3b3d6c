"""What an operator watches: Prometheus metrics (one registry per app, served at ``/metrics``), a request
id on every answer (``X-Request-ID``: the caller's if it sent a usable one), and one JSON access-log line
per request on the ``hybrid.access`` logger.

Stages of a search, timed by the search pipeline: ``embed`` (query vector, including any wait for a
micro-batch), ``retrieve`` (the backend round trip: one ``_msearch`` on OpenSearch), ``fusion``,
``fetch`` (the page's documents and facets), ``snippets`` (dense-only hits' sentences embedded for
highlights).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOG = logging.getLogger("hybrid.access")
REQUEST_ID_HEADER = "X-Request-ID"
_USABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ProxyMetrics:
    """The proxy's metrics; the embedders and searchers report into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("hybrid_requests", "HTTP requests answered", ["route", "method", "status"], registry=r)
        self.latency = Histogram("hybrid_request_seconds", "Time to answer a request", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.stages = Histogram("hybrid_search_stage_seconds", "Time per search stage", ["stage"],
                                buckets=_LATENCY_BUCKETS, registry=r)
        self.errors = Counter("hybrid_errors", "Requests answered with an error, by kind", ["kind"], registry=r)
        self.batch_size = Histogram("hybrid_embed_batch_size", "Queries per query-embedding model call",
                                    buckets=_BATCH_BUCKETS, registry=r)
        self.queue_wait = Histogram("hybrid_embed_queue_wait_seconds",
                                    "Time a query waited for the model before its embedding started",
                                    buckets=_LATENCY_BUCKETS, registry=r)
        self.cache = Counter("hybrid_query_cache_lookups", "Query-embedding cache lookups", ["result"], registry=r)
        self.cache_ratio = Gauge("hybrid_query_cache_hit_ratio", "Share of cache lookups that hit, since start",
                                 registry=r)
        self._hits = self._lookups = 0

    def stage(self, name: str, seconds: float) -> None:
        self.stages.labels(name).observe(seconds)

    def embedded(self, batch: int, waits: list[float]) -> None:
        self.batch_size.observe(batch)
        for wait in waits:
            self.queue_wait.observe(wait)

    def cache_lookup(self, hit: bool) -> None:
        self.cache.labels("hit" if hit else "miss").inc()
        self._lookups += 1
        self._hits += hit
        self.cache_ratio.set(self._hits / self._lookups)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def error_kind(request: Request, exc: Exception) -> None:
    """Remember what went wrong for the access log and the error counter (the exception's class name)."""
    request.state.error_kind = type(exc).__name__


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"  # the template (/v1/documents/{doc_id}), not the URL


class Observe:
    """Pure ASGI middleware (no per-request task or body streaming, unlike ``BaseHTTPMiddleware``): the
    request id, the request's metrics and its access-log line."""

    def __init__(self, app: ASGIApp, metrics: ProxyMetrics, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = given if _USABLE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, request_id, status, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = _route_of(scope)
        method = scope["method"]
        self.metrics.requests.labels(route, method, str(status)).inc()
        self.metrics.latency.labels(route).observe(seconds)
        kind = scope["state"].get("error_kind") or (_KINDS.get(status) if status >= 400 else None)
        if kind:
            self.metrics.errors.labels(kind).inc()
        if self.access_log and ACCESS_LOG.isEnabledFor(logging.INFO):
            client = scope.get("client")
            ACCESS_LOG.info(json.dumps({
                "ts": round(time.time(), 3), "request_id": request_id, "method": method, "path": scope["path"],
                "route": route, "status": status, "ms": round(seconds * 1000, 2),
                "client": client[0] if client else None, **({"error": kind} if kind else {}),
            }))


def install(app: FastAPI, metrics: ProxyMetrics, *, access_log: bool = True) -> None:
    app.add_middleware(Observe, metrics=metrics, access_log=access_log)  # type: ignore[arg-type]

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return metrics.render()


_KINDS = {401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed", 422: "ValidationError", 500: "Internal"}
