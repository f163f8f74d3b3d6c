"""Label-free adaptation: `hybrid adapt` on an index's corpus, then base vs. adapted encoder on a BEIR
split — bm25 / dense / hybrid side by side, through the product's own commands. No qrels are read
until the evaluation (the adaptation sees only the corpus).

Rerunning with the same arguments and --work reuses what is there: `hybrid adapt` skips finished steps
and `hybrid eval --ingest` finds its indices complete.

    python bench/adapt_quality.py --index scifact --embedded-dir DIR --work runs/adapt [--passages 400]
        [--title-pairs 1000] [--loss margin-mse|infonce] [--data DIR] [--split dev]

Each --loss gets its own model folder and evaluation index (WORK/model-LOSS, index adapted-LOSS), and
the JSON one entry per loss, so both variants stand side by side against the same base.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def hybrid(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "hybrid", *argv], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True, help="embedded index holding the corpus")
    parser.add_argument("--embedded-dir", required=True, type=Path)
    parser.add_argument("--work", required=True, type=Path,
                        help="WORK/work: adapt's steps, WORK/model: the adapted encoder, WORK/idx: evaluation indices")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--passages", default="400")
    parser.add_argument("--title-pairs", default="1000")
    parser.add_argument("--max-length", default="192")
    parser.add_argument("--loss", choices=["margin-mse", "infonce"], default="margin-mse")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--instruction", default="scifact")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "adapt_quality.json")
    args = parser.parse_args()

    model_dir = args.work / f"model-{args.loss}"
    hybrid("adapt", "--loss", args.loss, "--index", args.index, "--embedded", "--embedded-dir", str(args.embedded_dir),
           "--out", str(model_dir), "--work", str(args.work / "work"), "--model", args.model,
           "--passages", args.passages, "--title-pairs", args.title_pairs, "--max-length", args.max_length,
           "--teacher-max-length", args.max_length)
    metrics = {}
    for label, model in (("base", args.model), (f"adapted-{args.loss}", str(model_dir))):
        out = args.work / f"eval-{label}.json"
        hybrid("eval", "--dataset", str(args.data), "--split", args.split, "--ingest", "--index", label,
               "--model", model, "--embedded", "--embedded-dir", str(args.work / "idx"),
               "--instruction", args.instruction, "--out", str(out))
        metrics[label] = json.loads(out.read_text())["metrics"]
    steps = json.loads((args.work / "work" / "adapt.json").read_text())["steps"]
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"{args.split} split; adapted {args.model} without qrels: {args.passages} LM-written queries asked for, "
          f"{args.title_pairs} title pairs")
    print(f"{'mode':8}{'base':>9}{'adapted':>9}{'delta':>9}   (nDCG@10)")
    for mode in ("bm25", "dense", "hybrid"):
        b, a = metrics["base"][mode]["nDCG@10"], metrics[f"adapted-{args.loss}"][mode]["nDCG@10"]
        print(f"{mode:8}{b:9.4f}{a:9.4f}{a - b:+9.4f}")
    for name, step in steps.items():
        print(f"  {name}: {step['report'].get('seconds')} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    runs = previous.get("runs", {})
    runs[args.loss] = {"settings": steps["encoder"]["settings"],
                       "steps": {name: step["report"] for name, step in steps.items()},
                       "metrics": metrics[f"adapted-{args.loss}"]}
    args.out.write_text(json.dumps({"machine": machine, "split": args.split, "base": metrics["base"], "runs": runs},
                                   indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
