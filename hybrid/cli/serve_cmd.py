"""``hybrid serve``: run the search proxy with uvicorn."""

from __future__ import annotations

import argparse
import sys

from hybrid.cli.common import add_connection_flags, add_rerank_flags, settings_from


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the FastAPI search proxy (and its search page at /)",
                       description="Serve /v1/search, /v1/documents/{id}, /v1/indices, /healthz, /readyz, /metrics (Prometheus) and a search page.")
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8000)")
    p.add_argument("--index", help="default index (default: settings 'index')")
    p.add_argument("--model", help="encoder for every index (default: each index's own preset)")
    p.add_argument("--no-batching", action="store_true", help="one model call per request (no micro-batching)")
    p.add_argument("--batch-wait-ms", type=float, help="extra wait for more queries per batch (default 0: continuous batching)")
    p.add_argument("--cors-origin", action="append", dest="cors", help="allowed CORS origin; repeatable")
    p.add_argument("--log-level", default="info")
    add_rerank_flags(p)
    add_connection_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from hybrid.proxy import create_app

    settings = settings_from(
        args, proxy_host=args.host, proxy_port=args.port, index=args.index, model=args.model,
        proxy_batching=False if args.no_batching else None, proxy_batch_wait_ms=args.batch_wait_ms,
        proxy_cors_origins=args.cors, reranker=args.reranker, rerank=args.rerank,
    )
    # API keys come from HYBRID_PROXY_API_KEYS (a JSON list) or the config file, never from argv.
    # The proxy's JSON access log (one line per request, with its request id) replaces uvicorn's.
    access = logging.getLogger("hybrid.access")
    access.setLevel(logging.INFO)
    access.addHandler(logging.StreamHandler(sys.stdout))
    access.propagate = False
    uvicorn.run(create_app(settings), host=settings.proxy_host, port=settings.proxy_port, log_level=args.log_level,
                access_log=False)
    return 0
