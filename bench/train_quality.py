"""Base vs. fine-tuned encoder on a BEIR dev split: bm25 / dense / hybrid nDCG@10 side by side.

Both encoders are evaluated in one run through the product's own commands (`hybrid eval --ingest`
into embedded indices), so the figures are what a user gets. With ``--distractors N`` the corpus is
the documents judged for the split plus N others (reproducible), for encoders too slow to embed
the whole corpus on a CPU; the table says which corpus it used.

    python bench/train_quality.py --base minilm --tuned runs/minilm-scifact [--distractors 800]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def subset_dataset(data: Path, split: str, distractors: int, folder: Path, seed: int = 13) -> Path:
    """The split's judged documents plus ``distractors`` others, as a BEIR folder."""
    from hybrid.training.dev_eval import DevSet

    dev = DevSet.load(data, split, distractors=distractors, seed=seed)
    keep = set(dev.doc_ids)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    shutil.copy(data / "queries.jsonl", folder / "queries.jsonl")
    shutil.copy(data / "qrels" / f"{split}.tsv", folder / "qrels" / f"{split}.tsv")
    with (data / "corpus.jsonl").open() as src, (folder / "corpus.jsonl").open("w") as out:
        for line in src:
            if line.strip() and json.loads(line)["_id"] in keep:
                out.write(line)
    return folder


def evaluate(model: str, dataset: Path, split: str, index: str, embedded: Path, instruction: str | None,
             out: Path) -> dict[str, dict[str, float]]:
    argv = ["hybrid", "eval", "--dataset", str(dataset), "--split", split, "--ingest", "--index", index,
            "--model", model, "--embedded", "--embedded-dir", str(embedded), "--out", str(out),
            "--chart", str(out.with_suffix(".png"))]
    if instruction:
        argv += ["--instruction", instruction]
    subprocess.run(argv, check=True)
    return json.loads(out.read_text())["metrics"]  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="encoder before training (preset, path)")
    parser.add_argument("--tuned", required=True, type=Path, help="`hybrid train` output folder")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--instruction", default="scifact")
    parser.add_argument("--distractors", type=int, help="evaluate on judged documents + N others, not the corpus")
    parser.add_argument("--work", type=Path, help="keep indices here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, required=True, help="JSON results")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        dataset = args.data
        if args.distractors is not None:
            dataset = subset_dataset(args.data, args.split, args.distractors, work / "subset")
        docs = sum(1 for line in (dataset / "corpus.jsonl").open() if line.strip())
        results = {}
        for label, model in (("base", args.base), ("fine-tuned", str(args.tuned))):
            results[label] = evaluate(model, dataset, args.split, f"q-{label}", work / "indices", args.instruction,
                                      work / f"eval-{label}.json")
    training = json.loads((args.tuned / "training.json").read_text())
    corpus = "full corpus" if args.distractors is None else f"judged + {args.distractors} distractors"
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"{args.split} split, {docs} documents ({corpus}); base {args.base}, fine-tuned {args.tuned}")
    print(f"{'mode':8}{'base':>9}{'tuned':>9}{'delta':>9}")
    for mode in ("bm25", "dense", "hybrid"):
        b, t = results["base"][mode]["nDCG@10"], results["fine-tuned"][mode]["nDCG@10"]
        print(f"{mode:8}{b:9.4f}{t:9.4f}{t - b:+9.4f}")
    print(f"training: {training['steps']} steps, {training['seconds']:.0f} s on {training['device']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "split": args.split, "documents": docs, "distractors": args.distractors,
                                    "base": args.base, "tuned": str(args.tuned), "ndcg@10": {
                                        label: {m: r[m]["nDCG@10"] for m in r} for label, r in results.items()},
                                    "training": training}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
