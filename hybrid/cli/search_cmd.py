"""``hybrid search "query"``: BM25, dense or hybrid search from the shell (table or JSON)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from hybrid.cli import common
from hybrid.retrieval import params
from hybrid.retrieval.request import MODES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("search", help="search an index: bm25, dense or hybrid (RRF)",
                       description="Search an index built by `hybrid ingest`. Pages (--from, --k) are slices of one "
                                   "ranked list per query, as deep as the windows.")
    p.add_argument("query")
    p.add_argument("--index", help="index (alias) name (default: settings 'index')")
    p.add_argument("--mode", default="hybrid", choices=MODES)
    p.add_argument("--k", type=int, default=int(params.K.default), help=f"hits per page ({params.K.range}, default 10)")
    p.add_argument("--from", dest="offset", type=int, default=0, help="position of the page's first hit (paging)")
    p.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="FIELD=VALUE, FIELD=A|B, FIELD>=N, FIELD<=N; repeatable (all must hold)")
    p.add_argument("--instruction", help="task name (scifact, nfcorpus, trec-covid …) or free text, for the query embedding")
    p.add_argument("--model", help="encoder (default: the preset that built the index)")
    p.add_argument("--facets", default="", metavar="FIELD,FIELD",
                   help="count these metadata fields over the ranked list (e.g. year,journal,mesh)")
    p.add_argument("--highlight", action="store_true",
                   help="show a snippet per hit with the query's words marked (dense-only hits: the closest sentence)")
    p.add_argument("--ef-search", type=int, metavar="N",
                   help=f"{params.EF_SEARCH.help} ({params.EF_SEARCH.range})")
    p.add_argument("--explain", action="store_true", help="show each hit's BM25 and dense ranks and scores")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")
    common.add_fusion_flags(p)
    common.add_rerank_flags(p)
    common.add_connection_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hybrid.retrieval import SearchRequest, merge_ranges, parse_filter, plan_search

    settings = common.settings_from(args, index=args.index, model=args.model, reranker=args.reranker)
    backend = common.backend_from(settings)
    try:
        search = backend.search(settings.index)
        meta = search.index_meta()
        request = SearchRequest(
            query=args.query, mode=args.mode, k=args.k, offset=args.offset,
            filters=merge_ranges([parse_filter(f, meta.metadata_fields) for f in args.filter]),
            instruction=args.instruction, explain=args.explain, fusion_changes=common.fusion_changes(args),
            facets=tuple(name.strip() for name in args.facets.split(",") if name.strip()), highlight=args.highlight,
            ef_search=args.ef_search, rerank=common.rerank_of(args, settings),
        )
        plan = plan_search(request, meta)  # a bad request fails before a model loads
        searcher = common.searcher_for(search, settings, with_encoder=plan.needs_vector, rerank=request.rerank)
        response = searcher.search(request)
    finally:
        backend.close()
    for warning in response.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(response_json(response)))
    else:
        print_table(response, explain=args.explain)
    return 0


def response_json(response) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "index": response.index, "mode": response.mode, "offset": response.offset,
        "candidates": response.candidates, "took_ms": round(response.took_ms, 1),
        "fusion": None if response.fusion is None else dataclasses.asdict(response.fusion),
        "hits": [{**h._asdict(), "metadata": dict(h.metadata),
                  "highlight": None if h.highlight is None else highlight_json(h.highlight)} for h in response.hits],
        "facets": None if response.facets is None else {
            field: [{"value": value, "count": count} for value, count in counts] for field, counts in response.facets.items()},
        "warnings": list(response.warnings),
        "reranker": response.reranker,
    }


def highlight_json(h) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"title": [list(s) for s in h.title], "snippet": h.snippet, "snippet_spans": [list(s) for s in h.snippet_spans],
            "chosen_by": h.chosen_by}


_LINE_BREAKS = str.maketrans("\n\r\t\v\f", "     ")


def one_line(text: str) -> str:
    """``text`` with its line breaks as spaces (PubMed joins abstract sections with newlines), character for
    character, so highlight spans still point at the same words."""
    return text.translate(_LINE_BREAKS)


def marked(text: str, spans, on_terminal: bool) -> str:  # type: ignore[no-untyped-def]
    """``text`` on one line with the spans in bold on a terminal, else in [brackets]."""
    text = one_line(text)
    start, end = ("\033[1m", "\033[0m") if on_terminal else ("[", "]")
    out, at = [], 0
    for s, e in spans:
        out += [text[at:s], start, text[s:e], end]
        at = e
    return "".join(out) + text[at:]


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(response, *, explain: bool) -> None:  # type: ignore[no-untyped-def]
    print(f"{response.mode} search on '{response.index}': hits {response.offset + 1}-{response.offset + len(response.hits)} "
          f"of {response.candidates} ranked in {response.took_ms:.0f} ms")
    fused = explain and response.fusion is not None
    if fused:
        f = response.fusion
        print(f"fusion: {f.method}, weights bm25 {f.bm25_weight:.3g} / dense {f.dense_weight:.3g}; "
              "norm = each side's value before its weight")
    reranked = explain and response.reranker is not None
    if reranked:
        print(f"rerank: {response.reranker}; score = fused score, rerank = the cross-encoder's")
    header = f"{'#':>4}  {'id':<12} {'score':>8}  {'found by':<10}"
    if explain:
        header += f" {'bm25 rank':>9} {'bm25':>8} {'dense rank':>10} {'dense':>7}"
    if fused:
        header += f" {'bm25 norm':>9} {'dense norm':>10}"
    if reranked:
        header += f" {'rerank':>8}"
    passages = explain and any(h.passage is not None for h in response.hits)
    if passages:
        header += f" {'passage':>13}"
    print(header + "  title")
    for hit in response.hits:
        line = f"{hit.rank:>4}  {hit.doc_id[:12]:<12} {_fmt(hit.score):>8}  {'+'.join(hit.found_by):<10}"
        if explain:
            line += (f" {hit.bm25_rank or '-':>9} {_fmt(hit.bm25_score, 3):>8} "
                     f"{hit.dense_rank or '-':>10} {_fmt(hit.dense_score, 3):>7}")
        if fused:
            line += f" {_fmt(hit.bm25_norm, 3):>9} {_fmt(hit.dense_norm, 3):>10}"
        if reranked:
            line += f" {_fmt(hit.rerank_score, 3):>8}"
        if passages:
            line += f" {'-' if hit.passage is None else f'{hit.passage[0]}-{hit.passage[1]}':>13}"
        title = one_line(hit.title or hit.text)
        if hit.highlight is None:
            print(f"{line}  {title[:80]}{'…' if len(title) > 80 else ''}")
            continue
        tty = sys.stdout.isatty()
        print(f"{line}  {marked(hit.title, hit.highlight.title, tty) if hit.title else title[:80]}")
        print(f"{'':6}{marked(hit.highlight.snippet, hit.highlight.snippet_spans, tty)}")
    if response.facets:
        print(f"facets over the {response.candidates} ranked documents:")
        for field, counts in response.facets.items():
            shown = " · ".join(f"{value} ({count})" for value, count in counts) or "no values"
            print(f"  {field}: {shown}")
