"""``hybrid eval --dataset DIR --split dev``: bm25, dense and hybrid on a BEIR-layout dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hybrid.cli import common
from hybrid.data import SAMPLE_NAME, data_path
from hybrid.progress import on_terminal


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("eval", help="evaluate bm25, dense and hybrid on a BEIR-layout dataset",
                       description="nDCG@10, Recall@100, MRR@10 and MAP (ir-measures) of the three modes: each "
                                   "mode's run is the ranked list `hybrid search` would page through.")
    p.add_argument("--dataset", required=True, help=f"BEIR folder (corpus.jsonl, queries.jsonl, qrels/); '{SAMPLE_NAME}'")
    p.add_argument("--split", default="dev", help="qrels split (default dev)")
    p.add_argument("--index", help="index holding the dataset's corpus (default: settings 'index')")
    p.add_argument("--ingest", action="store_true", help="ingest the dataset's corpus first (resumes if present)")
    p.add_argument("--instruction", help="task instruction for query embeddings (e.g. scifact)")
    p.add_argument("--model", help="encoder (default: the preset that built the index; with --ingest, minilm)")
    p.add_argument("--sweep", action="store_true", help="also try fusion settings and report the best on this split")
    p.add_argument("--out", type=Path, help="JSON results (default eval-<index>-<split>.json)")
    p.add_argument("--chart", type=Path, help="PNG chart (default eval-<index>-<split>.png)")
    common.add_fusion_flags(p)
    common.add_rerank_flags(p)
    common.add_connection_flags(p)
    p.set_defaults(handler=run)


def _ingest_corpus(settings, backend, dataset: Path) -> int:  # type: ignore[no-untyped-def]
    """The dataset's corpus into the index, with the same settings as the evaluation (0 when usable)."""
    from hybrid.cli.ingest_cmd import exit_code
    from hybrid.ingest.pipeline import IngestOptions
    from hybrid.ingest.runner import ingest_source
    from hybrid.ingest.sources import open_source
    from hybrid.recipes import DEFAULT_MODEL

    summary = ingest_source(backend, open_source(dataset, "beir"), index=settings.index,
                            model=settings.model or DEFAULT_MODEL, device=settings.device, precision=settings.precision,
                            rejects_path=Path(f"rejects-{settings.index}.jsonl"),
                            options=IngestOptions(show_progress=on_terminal()))
    print(f"ingest: indexed {summary.indexed}, skipped {summary.skipped} (already present), rejected "
          f"{summary.rejected}", file=sys.stderr)
    return exit_code(summary)


def run(args: argparse.Namespace) -> int:
    from hybrid.evaluation import (
        collect_lists,
        evaluate_modes,
        load_split,
        rerank_run,
        result_json,
        retrieval_windows,
        sweep,
        write_chart,
    )

    settings = common.settings_from(args, index=args.index, model=args.model, reranker=args.reranker)
    rerank = common.rerank_of(args, settings)
    dataset = data_path(args.dataset)
    queries, qrels = load_split(dataset, args.split)
    backend = common.backend_from(settings)
    try:
        if args.ingest and (code := _ingest_corpus(settings, backend, dataset)) != 0:
            return code
        search = backend.search(settings.index)
        fusion = common.fusion_for(args, search.index_meta())
        searcher = common.searcher_for(search, settings, with_encoder=True, rerank=rerank)
        print(f"evaluating '{settings.index}' on {backend.description}: {len(queries)} {args.split} queries",
              file=sys.stderr)
        lists = collect_lists(searcher, queries, instruction=args.instruction,
                              windows=retrieval_windows(fusion, sweep=args.sweep), show_progress=on_terminal(), desc="eval")
        reranked = rerank_run(searcher, lists, queries, "hybrid", fusion, rerank, on_terminal()) if rerank else None
        result = evaluate_modes(lists, qrels, fusion, args.split, rerank=reranked)
        best = sweep(lists, qrels) if args.sweep else None
        where = backend.description
    finally:
        backend.close()
    out = args.out or Path(f"eval-{settings.index}-{args.split}.json")
    chart = args.chart or Path(f"eval-{settings.index}-{args.split}.png")
    data = result_json(result, best)
    data.update(index=settings.index, backend=where, dataset=str(dataset))
    out.write_text(json.dumps(data, indent=1))
    write_chart(result, chart, f"{dataset.name} {args.split} ({len(queries)} queries), index {settings.index}")
    measures = list(next(iter(result.metrics.values())))
    print(f"{'mode':14}" + "".join(f"{m:>10}" for m in measures))
    for mode, values in result.metrics.items():
        print(f"{mode:14}" + "".join(f"{values[m]:10.4f}" for m in measures))
    if result.rerank is not None:
        cost = result.rerank.ms_per_query
        print(f"rerank: top {result.rerank.depth} by {result.rerank.reranker}, {cost['p50']:.0f} ms per query "
              f"(p50; p95 {cost['p95']:.0f}) to fetch and score")
    if best:
        cfg, value = best[0]
        print(f"best fusion on {args.split}: {cfg.method} k={cfg.rank_constant:g} window={cfg.bm25_window} "
              f"weights bm25={cfg.bm25_weight:g} dense={cfg.dense_weight:g} -> nDCG@10 {value:.4f}")
    print(f"wrote {out} and {chart}")
    return 0
