"""``hybrid eval --dataset DIR --split dev``: bm25, dense and hybrid on a BEIR-layout dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hybrid.backends.base import BackendError, IndexNotFoundError
from hybrid.cli.common import add_connection_flags, backend_name, settings_from
from hybrid.cli.search_cmd import add_fusion_flags, fusion_from, open_searcher
from hybrid.data import SAMPLE_NAME, data_path
from hybrid.encoders import EncoderError
from hybrid.retrieval import BadRequestError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("eval", help="evaluate bm25, dense and hybrid on a BEIR-layout dataset",
                       description="nDCG@10, Recall@100, MRR@10 and MAP (ir-measures) for the three modes.")
    p.add_argument("--dataset", required=True, help=f"BEIR folder (corpus.jsonl, queries.jsonl, qrels/); '{SAMPLE_NAME}'")
    p.add_argument("--split", default="dev", help="qrels split (default dev)")
    p.add_argument("--index", help="index holding the dataset's corpus (default: settings 'index')")
    p.add_argument("--ingest", action="store_true", help="ingest the dataset's corpus first (resumes if present)")
    p.add_argument("--instruction", help="task instruction for query embeddings (e.g. scifact)")
    p.add_argument("--model", help="encoder (default: the index's own, when it is a preset)")
    p.add_argument("--sweep", action="store_true", help="also try fusion settings and report the best on this split")
    p.add_argument("--out", type=Path, help="JSON results (default eval-<index>-<split>.json)")
    p.add_argument("--chart", type=Path, help="PNG chart (default eval-<index>-<split>.png)")
    add_fusion_flags(p)
    add_connection_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hybrid.evaluation import EVAL_DEPTH, collect_runs, evaluate_modes, load_split, result_json, sweep, write_chart

    settings = settings_from(args, index=args.index)
    dataset = data_path(args.dataset)
    fusion = fusion_from(args)
    try:
        queries, qrels = load_split(dataset, args.split)
        if args.ingest:
            from hybrid.cli import main as cli_main

            ingest_argv = ["ingest", str(dataset), "--index", settings.index, "--quiet", "--format", "beir",
                           "--rejects", f"rejects-{settings.index}.jsonl"]
            if settings.opensearch_url:
                ingest_argv += ["--opensearch-url", settings.opensearch_url]
            else:
                ingest_argv += ["--embedded-dir", str(settings.embedded_dir), "--embedded"]
            if args.model:
                ingest_argv += ["--model", args.model]
            if cli_main(ingest_argv) != 0:
                return 1
        searcher = open_searcher(settings, settings.index, "hybrid", args.model)
        depth = max(EVAL_DEPTH, fusion.window)
        print(f"evaluating '{settings.index}' on {backend_name(settings)}: {len(queries)} {args.split} queries",
              file=sys.stderr)
        runs = collect_runs(searcher, queries, instruction=args.instruction, depth=depth)
        result = evaluate_modes(runs, qrels, fusion, args.split)
        best = sweep(runs, qrels) if args.sweep else None
    except IndexNotFoundError as exc:
        print(f"error: {exc}\nhint: add --ingest, or run `hybrid ingest {args.dataset} --index {settings.index}`",
              file=sys.stderr)
        return 2
    except (BadRequestError, BackendError, EncoderError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path(f"eval-{settings.index}-{args.split}.json")
    chart = args.chart or Path(f"eval-{settings.index}-{args.split}.png")
    data = result_json(result, best)
    data.update(index=settings.index, backend=backend_name(settings), dataset=str(dataset))
    out.write_text(json.dumps(data, indent=1))
    write_chart(result, chart, f"{dataset.name} {args.split} ({len(queries)} queries), index {settings.index}")
    measures = list(next(iter(result.metrics.values())))
    print(f"{'mode':8}" + "".join(f"{m:>10}" for m in measures))
    for mode, values in result.metrics.items():
        print(f"{mode:8}" + "".join(f"{values[m]:10.4f}" for m in measures))
    if best:
        cfg, value = best[0]
        print(f"best fusion on {args.split}: {cfg.method} k={cfg.rank_constant:g} window={cfg.window} "
              f"weights bm25={cfg.bm25_weight:g} dense={cfg.dense_weight:g} -> nDCG@10 {value:.4f}")
    print(f"wrote {out} and {chart}")
    return 0
