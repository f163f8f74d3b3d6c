"""``hybrid quickstart [QUERY]``: the main job in one command — index the bundled SciFact sample (once:
a rerun finds it indexed and skips the encoding) and answer a query with the explain view.

It is ``hybrid ingest sample --index demo`` followed by ``hybrid search QUERY --index demo --explain``,
on whatever backend the settings name (the embedded store unless an OpenSearch URL is configured).
"""

from __future__ import annotations

import argparse

from hybrid.cli.errors import OK

DEFAULT_QUERY = "statins lower cholesterol"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("quickstart", help="index the bundled SciFact sample and search it (the main job, one command)",
                       description="Index the bundled SciFact sample into an index (once) and run one hybrid search "
                                   "with the explain view.")
    p.add_argument("query", nargs="?", default=DEFAULT_QUERY, help=f"what to search for (default {DEFAULT_QUERY!r})")
    p.add_argument("--index", default="demo", help="index to build and search (default demo)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hybrid.cli import main  # the two commands, exactly as a user would type them

    config = ["--config", args.config] if args.config else []
    status = main([*config, "ingest", "sample", "--index", args.index, "--quiet"])
    if status != OK:
        return status
    return main([*config, "search", args.query, "--index", args.index, "--explain"])
