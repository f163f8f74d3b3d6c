"""`hybrid --help` wall time: how long the command takes to answer before any work, and whether torch or
transformers were imported on the way. Optionally the same for another revision, side by side.

    python bench/cli_startup.py [--runs 7] [--compare-rev a39ede5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402

HEAVY = ("torch", "transformers", "sentence_transformers", "opensearchpy", "fastapi")


def _measure(tree: Path, runs: int) -> dict[str, object]:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    seconds = []
    with tempfile.TemporaryDirectory() as cwd:  # away from any checkout on the path
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "hybrid", "--help"], cwd=cwd, env=env, check=True,
                           capture_output=True)
            seconds.append(time.perf_counter() - started)
        probe = f"import sys, hybrid.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
        loaded = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env, check=True, capture_output=True,
                                text=True).stdout.strip()
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "runs": runs, "imports": loaded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--compare-rev", help="a git revision to measure beside the working tree")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cli_startup.json")
    args = parser.parse_args()
    trees = {"working tree": ROOT}
    worktree = None
    if args.compare_rev:
        worktree = Path(tempfile.mkdtemp()) / "rev"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-f", "-q", str(worktree), args.compare_rev], check=True)
        trees = {args.compare_rev: worktree, **trees}
    try:
        results = {name: _measure(tree, args.runs) for name, tree in trees.items()}
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=True)
    machine = describe()
    print(header(machine))
    print(f"`hybrid --help`, {args.runs} runs each")
    print(f"{'code':14} {'median s':>9} {'min s':>7}  heavy modules imported")
    for name, r in results.items():
        print(f"{name:14} {r['median_s']:9.3f} {r['min_s']:7.3f}  {r['imports']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
