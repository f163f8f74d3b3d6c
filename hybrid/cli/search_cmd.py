"""``hybrid search "query"``: BM25, dense or hybrid search from the shell (table or JSON)."""

from __future__ import annotations

import argparse
import json
import sys

from hybrid.backends.base import BackendError
from hybrid.backends.factory import search_backend
from hybrid.cli.common import add_connection_flags, settings_from
from hybrid.encoders import Encoder, EncoderError, Fingerprint, available_presets, load_encoder
from hybrid.retrieval import MODES, BadRequestError, FusionConfig, SearchRequest, SearchResponse, Searcher
from hybrid.retrieval import merge_ranges, parse_filter
from hybrid.settings import Settings


def add_fusion_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fusion (hybrid mode)")
    group.add_argument("--fusion", default="rrf", choices=["rrf", "minmax", "zscore"])
    group.add_argument("--rank-constant", type=float, default=60.0, help="RRF k (default 60)")
    group.add_argument("--window", type=int, default=100, help="top hits taken from each side (default 100)")
    group.add_argument("--bm25-weight", type=float, default=1.0)
    group.add_argument("--dense-weight", type=float, default=1.0)


def fusion_from(args: argparse.Namespace) -> FusionConfig:
    return FusionConfig(args.fusion, args.rank_constant, args.window, args.bm25_weight, args.dense_weight)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("search", help="search an index: bm25, dense or hybrid (RRF)",
                       description="Search an index built by `hybrid ingest`.")
    p.add_argument("query")
    p.add_argument("--index", help="index (alias) name (default: settings 'index')")
    p.add_argument("--mode", default="hybrid", choices=MODES)
    p.add_argument("--k", type=int, default=10, help="hits to return, 1..1000 (default 10)")
    p.add_argument("--from", dest="offset", type=int, default=0, help="offset of the first hit (paging)")
    p.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="FIELD=VALUE, FIELD=A|B, FIELD>=N, FIELD<=N; repeatable (all must hold)")
    p.add_argument("--instruction", help="task name (scifact, nfcorpus, trec-covid …) or free text, for the query embedding")
    p.add_argument("--model", help="encoder (default: the index's own, when it is a preset)")
    p.add_argument("--explain", action="store_true", help="show each hit's BM25 and dense ranks and scores")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")
    add_fusion_flags(p)
    add_connection_flags(p)
    p.set_defaults(handler=run)


def encoder_for_index(settings: Settings, fingerprint: Fingerprint, explicit: str | None) -> Encoder:
    """The encoder asked for, else the preset whose model built the index, else the settings' model."""
    if explicit is None:
        for name, spec in available_presets():
            if spec.model_id == fingerprint.model_id and spec.quantize == fingerprint.quantize:
                return load_encoder(name, device=settings.device)
    return load_encoder(explicit or settings.model, device=settings.device)


def open_searcher(settings: Settings, index: str, mode: str, model: str | None) -> Searcher:
    backend = search_backend(settings, index)
    encoder = None if mode == "bm25" else encoder_for_index(settings, backend.fingerprint(), model)
    return Searcher(backend, encoder, index=index)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args, index=args.index)
    try:
        searcher = open_searcher(settings, settings.index, args.mode, args.model)
        filterable = searcher.backend.filterable_fields()
        request = SearchRequest(
            query=args.query, mode=args.mode, k=args.k, offset=args.offset,
            filters=merge_ranges([parse_filter(f, filterable) for f in args.filter]),
            instruction=args.instruction, explain=args.explain, fusion=fusion_from(args),
        )
        response = searcher.search(request)
    except (BadRequestError, BackendError, EncoderError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(response_json(response)))
    else:
        print_table(response, explain=args.explain)
    return 0


def response_json(response: SearchResponse) -> dict[str, object]:
    return {
        "index": response.index, "mode": response.mode, "offset": response.offset,
        "candidates": response.candidates, "took_ms": round(response.took_ms, 1),
        "hits": [{**h._asdict(), "metadata": dict(h.metadata)} for h in response.hits],
    }


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(response: SearchResponse, *, explain: bool) -> None:
    print(f"{response.mode} search on '{response.index}': {len(response.hits)} hits "
          f"from {response.candidates} candidates in {response.took_ms:.0f} ms")
    header = f"{'#':>4}  {'id':<12} {'score':>8}  {'found by':<10}"
    if explain:
        header += f" {'bm25 rank':>9} {'bm25':>8} {'dense rank':>10} {'dense':>7}"
    print(header + "  title")
    for hit in response.hits:
        line = f"{hit.rank:>4}  {hit.doc_id[:12]:<12} {_fmt(hit.score):>8}  {'+'.join(hit.found_by):<10}"
        if explain:
            line += (f" {hit.bm25_rank or '-':>9} {_fmt(hit.bm25_score, 3):>8} "
                     f"{hit.dense_rank or '-':>10} {_fmt(hit.dense_score, 3):>7}")
        title = hit.title or hit.text
        print(f"{line}  {title[:80]}{'…' if len(title) > 80 else ''}")
