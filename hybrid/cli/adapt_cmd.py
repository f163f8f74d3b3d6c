"""``hybrid adapt``: adapt the dense encoder to an index's corpus without judged queries (GPL)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hybrid.cli.common import add_connection_flags, backend_from, positive_int, settings_from


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "adapt", help="adapt the dense encoder to a corpus without labels (LM queries, BM25 negatives, "
                      "cross-encoder pseudo-labels)",
        description="An LM writes queries for the index's documents, BM25 mines negatives for them, a cross-encoder "
                    "scores every pair, and the dense encoder learns the cross-encoder's margins (GPL). Every step "
                    "is kept in the work folder: rerunning the same command resumes.")
    p.add_argument("--index", help="index whose corpus to adapt to (default: settings 'index')")
    p.add_argument("--out", type=Path, required=True, help="folder for the adapted encoder")
    p.add_argument("--work", type=Path, help="work folder (default <out>-work)")
    p.add_argument("--model", default="minilm", help="dense encoder to adapt (default minilm)")
    p.add_argument("--generator", default="smollm2-135m", help="causal LM that writes the queries (default smollm2-135m)")
    p.add_argument("--passages", type=int, help="documents that get a written query, drawn at random (default: all; "
                                                "0: none)")
    p.add_argument("--title-pairs", type=int, default=0,
                   help="title → abstract pairs added as queries, from documents drawn at random (default 0)")
    p.add_argument("--reranker", help="teacher cross-encoder (hub name or folder); default: one trained on the "
                                      "written queries first")
    p.add_argument("--reranker-base", default="minilm", help="base of that teacher (default minilm)")
    p.add_argument("--negatives", type=positive_int, default=4, help="BM25-mined negatives per query (default 4)")
    p.add_argument("--loss", choices=["margin-mse", "infonce"], default="margin-mse",
                   help="margin-mse (default): distil the teacher's margins (GPL); infonce: contrastive training "
                        "with the teacher only filtering false negatives (better with a weak teacher)")
    p.add_argument("--false-negative-margin", type=float, default=1.0,
                   help="infonce: drop a mined negative the teacher scores within this many logits of the positive "
                        "(default 1)")
    p.add_argument("--epochs", type=float, default=1.0, help="passes of the encoder over the examples (default 1)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=float, default=2e-5, help="encoder learning rate (default 2e-5)")
    p.add_argument("--max-length", type=positive_int, help="training-time truncation of the encoder's inputs")
    p.add_argument("--teacher-epochs", type=float, default=1.0)
    p.add_argument("--teacher-max-length", type=positive_int, default=256, help="query + passage tokens (default 256)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--device", help="cuda, cpu … (default: CUDA when present)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_connection_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hybrid.training.adapt import AdaptConfig, adapt
    from hybrid.training.reranker import RerankerConfig
    from hybrid.training.trainer import TrainConfig

    config = AdaptConfig(
        model=args.model, generator=args.generator, passages=args.passages, title_pairs=args.title_pairs,
        reranker=args.reranker, reranker_base=args.reranker_base, negatives=args.negatives, seed=args.seed,
        false_negative_margin=args.false_negative_margin,
        train=TrainConfig(loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                          max_length=args.max_length, hard_negatives=1, patience=None, seed=args.seed),
        teacher=RerankerConfig(epochs=args.teacher_epochs, group_size=min(4, args.negatives + 1),
                               max_length=args.teacher_max_length, seed=args.seed),
    )
    settings = settings_from(args, index=args.index, device=args.device)
    backend = backend_from(settings)
    try:
        search = backend.search(settings.index)
        search.index_meta()  # a missing index fails before any model loads
        work = args.work or args.out.with_name(args.out.name + "-work")
        report = adapt(search, settings.index, args.out, config, work=work, device=settings.device, quiet=args.quiet)
    finally:
        backend.close()
    print(json.dumps(report.steps, indent=1))
    print(f"adapted encoder written to {args.out} — use it with --model {args.out}", file=sys.stderr)
    return 0
