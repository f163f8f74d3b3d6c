"""Training throughput: examples/s of `hybrid train` for MiniLM (full fine-tuning) and SmolLM2-135M
(BMRetriever recipe, LoRA) on SciFact's mined train examples — on the CPU, and on CUDA when present
(with peak GPU memory). Each model runs in its own process so peak RSS is its own.

An example is one query + its positive + ``--hard-negatives`` mined negatives, so a step encodes
``batch * (2 + hard_negatives)`` texts forward and backward. The first step (allocations, autotuning)
is excluded from the rate.

    python bench/train_throughput.py --data runs/scifact-train.jsonl [--steps 6] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODELS = {"minilm": "full", "smollm2-135m": "lora"}


def _worker(model: str, device: str, args: argparse.Namespace) -> dict[str, object]:
    import torch
    from transformers import TrainerCallback

    from hybrid.training.examples import read_examples
    from hybrid.training.trainer import TrainConfig, train

    stamps: list[float] = []

    class StepClock(TrainerCallback):
        def on_step_end(self, *a: object, **k: object) -> None:
            stamps.append(time.perf_counter())

    examples = read_examples([args.data])[: args.batch_size * args.steps]
    config = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, hard_negatives=args.hard_negatives,
                         max_length=args.max_length, lora=MODELS[model] == "lora", patience=None,
                         gradient_checkpointing=args.gradient_checkpointing)
    with tempfile.TemporaryDirectory() as tmp:
        report = train(model, examples, Path(tmp) / "run", config, device=device, progress=False,
                       callbacks=[StepClock()])
    rate = args.batch_size * (len(stamps) - 1) / (stamps[-1] - stamps[0])
    return {"model": model, "mode": MODELS[model], "device": report.device, "examples_per_s": round(rate, 2),
            "texts_per_s": round(rate * (2 + args.hard_negatives), 1),
            "trainable_parameters": report.trainable_parameters, "parameters": report.parameters,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_gpu_memory_gib": round(report.peak_gpu_memory_gib, 2) if report.peak_gpu_memory_gib else None,
            "mixed_precision": "bf16" if device == "cpu" or torch.cuda.is_bf16_supported() else "fp16"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="training JSONL (hybrid mine output)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--hard-negatives", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--devices", nargs="+", help="default: cpu, and cuda where torch sees one")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train_throughput.json")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker[0], args.worker[1], args)))
        return

    import torch

    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        for model in args.models:
            argv = [sys.executable, __file__, "--worker", model, device, "--data", str(args.data), "--steps",
                    str(args.steps), "--batch-size", str(args.batch_size), "--hard-negatives", str(args.hard_negatives),
                    "--max-length", str(args.max_length)] + (["--gradient-checkpointing"] if args.gradient_checkpointing else [])
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  {rows[-1]}", file=sys.stderr)
    machine = describe()
    print(f"\n{header(machine)}")
    print(f"batch {args.batch_size} examples x (query + positive + {args.hard_negatives} negatives), "
          f"max_length {args.max_length}")
    print(f"{'model':14}{'mode':6}{'device':38}{'examples/s':>11}{'texts/s':>9}{'RSS MiB':>9}{'GPU GiB':>9}")
    for r in rows:
        print(f"{r['model']:14}{r['mode']:6}{r['device'][:37]:38}{r['examples_per_s']:11.2f}{r['texts_per_s']:9.1f}"
              f"{r['peak_rss_mib']:9d}{r['peak_gpu_memory_gib'] or '-':>9}")
    if not torch.cuda.is_available():
        print("no CUDA device here: GPU rows not measured")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "batch_size": args.batch_size, "hard_negatives": args.hard_negatives,
                                    "max_length": args.max_length, "cuda": torch.cuda.is_available(),
                                    "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
