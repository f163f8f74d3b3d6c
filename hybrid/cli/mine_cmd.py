"""``hybrid mine``: BM25 hard negatives for the training queries of a BEIR-layout dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.cli.common import add_connection_flags, backend_from, positive_int, settings_from
from hybrid.data import SAMPLE_NAME, data_path
from hybrid.progress import on_terminal, track

if TYPE_CHECKING:
    from hybrid.training.mining import MiningConfig


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mine", help="mine BM25 hard negatives for training (JSONL)",
                       description="For each query of a split: positives from qrels, negatives from BM25's top ranks.")
    p.add_argument("--dataset", required=True, help=f"BEIR folder (queries.jsonl, qrels/); '{SAMPLE_NAME}'")
    p.add_argument("--split", default="train", help="qrels split (default train)")
    p.add_argument("--index", help="index holding the dataset's corpus (default: settings 'index')")
    p.add_argument("--out", type=Path, required=True, help="output JSONL")
    add_negative_flags(p)
    p.add_argument("--margin", type=float, help="false-negative guard: drop candidates the dense model scores "
                                                 "within this margin of the weakest positive")
    p.add_argument("--model", help="encoder for the guard (default: the preset that built the index)")
    p.add_argument("--instruction", help="task instruction stored with every example (e.g. scifact)")
    add_connection_flags(p)
    p.set_defaults(handler=run)


def add_negative_flags(p: argparse.ArgumentParser) -> None:
    """Which BM25 ranks negatives are drawn from (shared with `hybrid synth`)."""
    p.add_argument("--depth", type=positive_int, default=100, help="BM25 hits per query (default 100)")
    p.add_argument("--skip", type=int, default=2, help="top ranks never used as negatives (default 2: ranks 3..depth)")
    p.add_argument("--negatives", type=positive_int, default=8, help="negatives per query (default 8)")
    p.add_argument("--seed", type=int, default=13)


def mining_config(args: argparse.Namespace, margin: float | None = None) -> MiningConfig:
    from hybrid.training.mining import MiningConfig

    return MiningConfig(args.depth, args.skip, args.negatives, args.seed, margin)


def run(args: argparse.Namespace) -> int:
    from hybrid.evaluation import load_split
    from hybrid.training.examples import write_examples
    from hybrid.training.mining import MiningReport, mine

    settings = settings_from(args, index=args.index, model=args.model)
    config = mining_config(args, args.margin)
    queries, qrels = load_split(data_path(args.dataset), args.split)
    backend = backend_from(settings)
    try:
        search = backend.search(settings.index)
        meta = search.index_meta()  # a missing or unreachable index fails before anything is written
        encoder = None
        if args.margin is not None:
            from hybrid.encoders import encoder_for_index

            encoder = encoder_for_index(meta, explicit=settings.model, device=settings.device,
                                        precision=settings.precision)
        report = MiningReport()
        print(f"mining {len(qrels)} {args.split} queries against '{settings.index}' on {backend.description}",
              file=sys.stderr)
        examples = mine(search, queries, qrels, config, instruction=args.instruction, encoder=encoder, report=report)
        write_examples(args.out, track(examples, len(qrels), "mine", "example", enabled=on_terminal()))
    finally:
        backend.close()
    missing = sum(len(v) for v in report.missing_documents.values())
    print(f"wrote {report.examples} examples to {args.out}; {missing} judged documents missing from the index "
          f"({len(report.missing_documents)} queries), {len(report.without_positives)} queries without any "
          f"positive skipped, {report.guarded} candidates dropped by the false-negative guard")
    if report.missing_documents:
        first = next(iter(report.missing_documents.items()))
        print(f"  e.g. query {first[0]}: {first[1][:5]} not in the index", file=sys.stderr)
    return 0
