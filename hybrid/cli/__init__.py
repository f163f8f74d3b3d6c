"""The ``hybrid`` command: a thin layer over the library. ``main(argv)`` is what tests call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hybrid.cli import eval_cmd, ingest_cmd, mine_cmd, opensearch_cmd, search_cmd, serve_cmd

# Subcommands that later work fills in; until then they say so instead of pretending.
PLANNED: dict[str, tuple[str, str]] = {
    "train": ("fine-tune the dense encoder", "#7"),
    "synth": ("synthetic training queries from a causal LM", "#7"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybrid", description="Hybrid BM25 + dense retrieval for biomedical text on OpenSearch."
    )
    parser.add_argument("--config", type=str, default=None, help="TOML config file (else $HYBRID_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    opensearch_cmd.register(sub)
    ingest_cmd.register(sub)
    search_cmd.register(sub)
    eval_cmd.register(sub)
    serve_cmd.register(sub)
    mine_cmd.register(sub)
    for name, (summary, issue) in PLANNED.items():
        planned = sub.add_parser(name, help=f"{summary} (not yet available)", description=f"{summary}. Not yet available ({issue}).")
        planned.set_defaults(handler=_not_yet, planned=(name, issue))
    return parser


def _not_yet(args: argparse.Namespace) -> int:
    name, issue = args.planned
    print(f"hybrid {name}: not yet available in this version (tracked as issue {issue}).", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
