"""The ``hybrid`` command: a thin layer over the library. ``main(argv)`` is what tests call.

Command modules import the library inside their handlers, so ``hybrid --help`` loads neither torch
nor the clients; errors become exit codes in ``hybrid.cli.errors``, for every command alike.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hybrid.cli import (
    adapt_cmd,
    eval_cmd,
    ingest_cmd,
    mine_cmd,
    opensearch_cmd,
    quickstart_cmd,
    search_cmd,
    serve_cmd,
    synth_cmd,
    train_cmd,
    tune_cmd,
)
from hybrid.cli.errors import run_mapped


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybrid", description="Hybrid BM25 + dense retrieval for biomedical text on OpenSearch."
    )
    parser.add_argument("--config", type=str, default=None, help="TOML config file (else $HYBRID_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    quickstart_cmd.register(sub)
    opensearch_cmd.register(sub)
    ingest_cmd.register(sub)
    search_cmd.register(sub)
    eval_cmd.register(sub)
    tune_cmd.register(sub)
    serve_cmd.register(sub)
    mine_cmd.register(sub)
    train_cmd.register(sub)
    adapt_cmd.register(sub)
    synth_cmd.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Model-loading progress bars of the hub libraries are noise on a command line (ours stay).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return run_mapped(lambda: int(args.handler(args)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
