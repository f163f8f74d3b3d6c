"""``hybrid mine``: BM25 hard negatives for the training queries of a BEIR-layout dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.backends.base import BackendError
from hybrid.backends.factory import search_backend
from hybrid.cli.common import add_connection_flags, backend_name, settings_from
from hybrid.data import SAMPLE_NAME, data_path
from hybrid.encoders import EncoderError, load_encoder

if TYPE_CHECKING:
    from training.mining import MiningConfig


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mine", help="mine BM25 hard negatives for training (JSONL)",
                       description="For each query of a split: positives from qrels, negatives from BM25's top ranks.")
    p.add_argument("--dataset", required=True, help=f"BEIR folder (queries.jsonl, qrels/); '{SAMPLE_NAME}'")
    p.add_argument("--split", default="train", help="qrels split (default train)")
    p.add_argument("--index", help="index holding the dataset's corpus (default: settings 'index')")
    p.add_argument("--out", type=Path, required=True, help="output JSONL")
    add_window_flags(p)
    p.add_argument("--margin", type=float, help="false-negative guard: drop candidates the dense model scores "
                                                 "within this margin of the weakest positive")
    p.add_argument("--model", help="encoder for the guard (default: settings 'model')")
    p.add_argument("--instruction", help="task instruction stored with every example (e.g. scifact)")
    add_connection_flags(p)
    p.set_defaults(handler=run)


def add_window_flags(p: argparse.ArgumentParser) -> None:
    """Where negatives come from in a BM25 run (shared with `hybrid synth`)."""
    p.add_argument("--depth", type=int, default=100, help="BM25 hits per query (default 100)")
    p.add_argument("--skip", type=int, default=2, help="top ranks never used as negatives (default 2: window 3..depth)")
    p.add_argument("--negatives", type=int, default=8, help="negatives per query (default 8)")
    p.add_argument("--seed", type=int, default=13)


def window_config(args: argparse.Namespace, margin: float | None = None) -> MiningConfig:
    from training.mining import MiningConfig

    return MiningConfig(args.depth, args.skip, args.negatives, args.seed, margin)


def run(args: argparse.Namespace) -> int:
    from hybrid.evaluation import load_split
    from training.mining import MiningReport, mine

    settings = settings_from(args, index=args.index, model=args.model)
    dataset = data_path(args.dataset)
    try:
        config = window_config(args, args.margin)
        queries, qrels = load_split(dataset, args.split)
        backend = search_backend(settings, settings.index)
        encoder = load_encoder(settings.model, device=settings.device) if args.margin is not None else None
        report = MiningReport()
        print(f"mining {len(qrels)} {args.split} queries against '{settings.index}' on {backend_name(settings)}",
              file=sys.stderr)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as fh:
            for example in mine(backend, queries, qrels, config, instruction=args.instruction, encoder=encoder,
                                report=report):
                fh.write(json.dumps(example, ensure_ascii=False) + "\n")
    except (BackendError, EncoderError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missing = sum(len(v) for v in report.missing_documents.values())
    print(f"wrote {report.examples} examples to {args.out}; {missing} judged documents missing from the index "
          f"({len(report.missing_documents)} queries), {len(report.without_positives)} queries without any "
          f"positive skipped, {report.guarded} candidates dropped by the false-negative guard")
    if report.missing_documents:
        first = next(iter(report.missing_documents.items()))
        print(f"  e.g. query {first[0]}: {first[1][:5]} not in the index", file=sys.stderr)
    return 0
