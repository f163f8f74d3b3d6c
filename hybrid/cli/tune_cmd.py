"""``hybrid tune --dataset DIR --split dev``: choose an index's default fusion on a split with qrels.

Both sides are retrieved once per query (as deep as the deepest window tried); every fusion setting of
the grid re-ranks those lists. The best, if it beats the index's current default, is stored in the
index's record, so ``hybrid search``, ``hybrid eval`` and the proxy use it when a request names no
fusion (flags and request fields still override it field by field).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hybrid.cli import common
from hybrid.data import SAMPLE_NAME, data_path
from hybrid.progress import on_terminal

MEASURE = "nDCG@10"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tune", help="choose an index's default fusion on a split with qrels",
                       description="Try fusion methods, RRF rank constants, windows and side weights on a split's "
                                   "qrels and store the best as the index's default fusion. Never tune on the split "
                                   "you report: a split named 'test' is refused unless --allow-test.")
    p.add_argument("--dataset", required=True, help=f"BEIR folder (queries.jsonl, qrels/) whose corpus the index holds; '{SAMPLE_NAME}'")
    p.add_argument("--split", default="dev", help="qrels split to tune on (default dev)")
    p.add_argument("--allow-test", action="store_true", help="allow tuning on a split named 'test'")
    p.add_argument("--index", help="index holding the dataset's corpus (default: settings 'index')")
    p.add_argument("--instruction", help="task instruction for query embeddings (e.g. scifact)")
    p.add_argument("--model", help="encoder (default: the preset that built the index)")
    p.add_argument("--dry-run", action="store_true", help="report, store nothing")
    p.add_argument("--reset", action="store_true", help="remove the index's stored default (back to built-in) and stop")
    p.add_argument("--top", type=int, default=10, help="rows of the table (default 10)")
    p.add_argument("--out", type=Path, help="JSON report (default tune-<index>-<split>.json)")
    common.add_connection_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hybrid.evaluation import collect_lists, load_split, mode_run, retrieval_windows, sweep
    from hybrid.metrics import evaluate
    from hybrid.retrieval import FusionConfig

    if args.split.lower() == "test" and not args.allow_test:
        print("hybrid tune: refusing to tune on a split named 'test' (tune on dev, report on test); "
              "--allow-test overrides", file=sys.stderr)
        return 2
    settings = common.settings_from(args, index=args.index, model=args.model)
    backend = common.backend_from(settings)
    try:
        if args.reset:
            backend.update_record(settings.index, {"default_fusion": None})
            print(f"'{settings.index}': default fusion reset to the built-in one", file=sys.stderr)
            return 0
        dataset = data_path(args.dataset)
        queries, qrels = load_split(dataset, args.split)
        search = backend.search(settings.index)
        meta = search.index_meta()
        current = FusionConfig.of_index(meta.default_fusion)
        searcher = common.searcher_for(search, settings, with_encoder=True)
        print(f"tuning '{settings.index}' on {backend.description}: {len(queries)} {args.split} queries",
              file=sys.stderr)
        lists = collect_lists(searcher, queries, instruction=args.instruction,
                              windows=retrieval_windows(current, sweep=True), show_progress=on_terminal(), desc="tune")
        before = evaluate(mode_run(lists, "hybrid", current), qrels, [MEASURE])[MEASURE]
        ranked = sweep(lists, qrels, MEASURE)
        best, after = ranked[0]
        store = after > before and not args.dry_run
        if store:
            chosen_by = f"hybrid tune on {dataset.name} {args.split} ({len(queries)} queries): {MEASURE} {before:.4f} -> {after:.4f}"
            backend.update_record(settings.index, {"default_fusion": {"config": best.to_record(), "chosen_by": chosen_by}})
        where = backend.description
    finally:
        backend.close()
    _print_table(ranked[: args.top], current, before)
    verdict = ("stored as the index's default" if store else
               "not stored (--dry-run)" if args.dry_run and after > before else "not stored: the current default is as good")
    print(f"{MEASURE} on {args.split}: current {_describe(current)} {before:.4f} -> best {_describe(best)} {after:.4f}; {verdict}")
    out = args.out or Path(f"tune-{settings.index}-{args.split}.json")
    out.write_text(json.dumps({
        "index": settings.index, "backend": where, "dataset": str(dataset), "split": args.split, "measure": MEASURE,
        "before": {"fusion": current.to_record(), MEASURE: before}, "best": {"fusion": best.to_record(), MEASURE: after},
        "stored": store, "grid": [{"fusion": cfg.to_record(), MEASURE: value} for cfg, value in ranked],
    }, indent=1))
    print(f"wrote {out}")
    return 0


def _describe(cfg) -> str:  # type: ignore[no-untyped-def]
    k = f" k={cfg.rank_constant:g}" if cfg.method == "rrf" else ""
    return (f"{cfg.method}{k} windows {cfg.bm25_window}/{cfg.dense_window} "
            f"weights {cfg.bm25_weight:g}/{cfg.dense_weight:g}")


def _print_table(rows, current, before: float) -> None:  # type: ignore[no-untyped-def]
    print(f"{'#':>3}  {'fusion':<48} {MEASURE:>8}")
    for i, (cfg, value) in enumerate(rows, start=1):
        print(f"{i:>3}  {_describe(cfg):<48} {value:8.4f}")
    print(f"{'now':>3}  {_describe(current):<48} {before:8.4f}")
