"""What several commands share: connection and fusion flags, settings from flags, count types."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.retrieval import params, request
from hybrid.retrieval.fusion import FUSION_METHODS

if TYPE_CHECKING:
    from hybrid.backends.base import Backend
    from hybrid.index_meta import IndexMeta
    from hybrid.retrieval import FusionConfig, Searcher
    from hybrid.retrieval.backend import SearchBackend
    from hybrid.retrieval.request import FusionChanges
    from hybrid.settings import Settings


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a usage error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: it must be at least 1")
    return value


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backend (default: embedded unless an OpenSearch URL is configured)")
    group.add_argument("--opensearch-url", help="OpenSearch URL (env HYBRID_OPENSEARCH_URL)")
    group.add_argument("--embedded-dir", type=Path, help="folder of embedded indices (env HYBRID_EMBEDDED_DIR)")
    group.add_argument("--embedded", action="store_true", help="use the embedded backend even if a URL is configured")
    group.add_argument("--user", dest="opensearch_user", help="basic-auth user; password from HYBRID_OPENSEARCH_PASSWORD")
    group.add_argument("--ca-certs", dest="opensearch_ca_certs", type=Path, help="CA bundle for TLS")
    group.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    group.add_argument("--timeout", dest="opensearch_timeout_s", type=float, help="request timeout in seconds")


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    """Settings from ``--config``/env, overridden by the connection flags and ``extra`` (Nones ignored)."""
    from hybrid.settings import load_settings

    overrides: dict[str, object] = {
        "opensearch_url": getattr(args, "opensearch_url", None),
        "embedded_dir": getattr(args, "embedded_dir", None),
        "opensearch_user": getattr(args, "opensearch_user", None),
        "opensearch_ca_certs": getattr(args, "opensearch_ca_certs", None),
        "opensearch_timeout_s": getattr(args, "opensearch_timeout_s", None),
        "opensearch_verify_certs": False if getattr(args, "insecure", False) else None,
        **extra,
    }
    settings = load_settings(Path(args.config) if getattr(args, "config", None) else None, **overrides)
    if getattr(args, "embedded", False):
        settings = settings.model_copy(update={"opensearch_url": None})
    return settings


def backend_from(settings: Settings) -> Backend:
    from hybrid.backends import open_backend

    return open_backend(settings)


def _bounds(param: params.Param) -> str:
    return f"{param.help} (default {param.default:g}, {param.range})"


def add_fusion_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("windows and fusion (every page of a query is cut from the same list; "
                                      "flags not given come from the index's default, see `hybrid tune`)")
    group.add_argument("--window", type=int, help=_bounds(params.WINDOW))
    group.add_argument("--bm25-window", type=int, help="the BM25 side's own window (default: --window)")
    group.add_argument("--dense-window", type=int, help="the dense side's own window (default: --window)")
    group.add_argument("--fusion", choices=FUSION_METHODS, help="hybrid mode's fusion (default adaptive: DBSF weighted by the index's calibration)")
    group.add_argument("--rank-constant", type=float, help=_bounds(params.RANK_CONSTANT))
    group.add_argument("--bm25-weight", type=float, help=_bounds(params.WEIGHT))
    group.add_argument("--dense-weight", type=float, help=_bounds(params.WEIGHT))


def fusion_changes(args: argparse.Namespace) -> FusionChanges:
    """The fusion fields the flags set."""
    return request.fusion_changes(method=args.fusion, rank_constant=args.rank_constant, window=args.window,
                                  bm25_window=args.bm25_window, dense_window=args.dense_window,
                                  bm25_weight=args.bm25_weight, dense_weight=args.dense_weight)


def fusion_for(args: argparse.Namespace, meta: IndexMeta) -> FusionConfig:
    """The fusion a command runs with: the index's default with the flags' changes."""
    return request.settle_fusion(None, fusion_changes(args), meta.default_fusion)


def add_rerank_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("rerank stage (a cross-encoder rescoring the top of the fused list)")
    group.add_argument("--rerank", type=int, metavar="N",
                       help=f"{params.RERANK.help} (default: settings 'rerank', else 0; {params.RERANK.range})")
    group.add_argument("--reranker", metavar="MODEL",
                       help="cross-encoder: a folder (`hybrid train --cross-encoder`) or hub name "
                            "(default: settings 'reranker')")


def rerank_of(args: argparse.Namespace, settings: Settings) -> int:
    """The rerank window a command runs with: the flag, else the setting."""
    return settings.rerank if args.rerank is None else args.rerank


def reranker_for(settings: Settings, rerank: int):  # type: ignore[no-untyped-def]
    """The configured cross-encoder when a rerank window is asked for, else None (nothing loads)."""
    if rerank <= 0 or not settings.reranker:
        return None
    from hybrid.rerank.cross_encoder import load_reranker

    return load_reranker(settings.reranker, device=settings.device)


def searcher_for(search: SearchBackend, settings: Settings, *, with_encoder: bool, rerank: int = 0) -> Searcher:
    """A searcher over an opened index; its encoder is the index's own (``--model`` overrides), its
    cross-encoder the configured one when ``rerank`` asks for a rerank stage."""
    from hybrid.retrieval import Searcher

    meta = search.index_meta()
    if meta.lexical.outdated:
        print(f"note: {meta.lexical.upgrade_hint(settings.index)}", file=sys.stderr)
    encoder = None
    if with_encoder:
        from hybrid.encoders import encoder_for_index

        encoder = encoder_for_index(meta, explicit=settings.model, device=settings.device,
                                    precision=settings.precision)
    return Searcher(search, encoder, reranker_for(settings, rerank))
