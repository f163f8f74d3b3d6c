"""``hybrid train``: contrastive fine-tuning on mined/synthetic/pair JSONL, writing a loadable encoder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hybrid.cli.common import positive_int
from hybrid.data import SAMPLE_NAME, data_path
from hybrid.progress import on_terminal


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="fine-tune the dense encoder (InfoNCE, in-batch + hard negatives)",
                       description="Fine-tune an encoder on JSONL from `hybrid mine`, `synth` or `pairs`. "
                                   "The output folder loads as --model anywhere.")
    p.add_argument("data", type=Path, nargs="+", help="training JSONL file(s); tasks may be mixed")
    p.add_argument("--model", help="encoder to start from (default: settings 'model', else minilm)")
    p.add_argument("--cross-encoder", action="store_true",
                   help="train a cross-encoder reranker instead (for --rerank / --reranker): --model is its "
                        "base (encoder-only, fully trained; or a decoder LM with LoRA, a pointwise reranker), each "
                        "query is ranked against its positive and --group-size - 1 mined negatives")
    p.add_argument("--group-size", type=int, default=8,
                   help="cross-encoder: passages per query and step, one positive and the rest negatives (default 8)")
    p.add_argument("--micro-batch", type=positive_int,
                   help="cross-encoder: queries per forward pass, the rest by gradient accumulation (default: the "
                        "whole step for encoder-only bases, 2 for decoders); lower it to save memory")
    p.add_argument("--out", type=Path, required=True, help="output folder (e.g. runs/scifact-minilm)")
    p.add_argument("--dev", help=f"BEIR folder for dev evaluation during training; '{SAMPLE_NAME}'")
    p.add_argument("--dev-split", default="dev", help="qrels split of --dev (default dev)")
    p.add_argument("--dev-instruction", help="task instruction for the dev queries (e.g. scifact)")
    p.add_argument("--dev-distractors", type=int,
                   help="evaluate over the judged documents plus this many others instead of the whole corpus")
    p.add_argument("--epochs", type=float, help="passes over the data (default 3; cross-encoder 1)")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimiser steps (overrides epochs)")
    p.add_argument("--batch-size", type=positive_int,
                   help="examples per step (in-batch negatives; default 32; cross-encoder: queries per step, default 8)")
    p.add_argument("--grad-accum", type=positive_int, default=1, help="gradient accumulation steps (default 1)")
    p.add_argument("--lr", type=float, help="peak learning rate (default 2e-5 for full fine-tuning; LoRA on SmolLM2-135M: 1e-3; "
                                             "cross-encoder 1e-4, with LoRA 3e-4)")
    p.add_argument("--temperature", type=float, default=0.05, help="InfoNCE temperature (default 0.05)")
    p.add_argument("--hard-negatives", type=int, default=1, help="mined negatives per example per step (default 1)")
    p.add_argument("--loss", choices=["infonce", "margin-mse"], default="infonce",
                   help="infonce (default) or margin-mse: distil the teacher_score margins `hybrid adapt` writes")
    lora = p.add_mutually_exclusive_group()
    lora.add_argument("--lora", dest="lora", action="store_true", default=None, help="LoRA adapters (default for decoders)")
    lora.add_argument("--full", dest="lora", action="store_false", help="update all weights (default for sentence models)")
    p.add_argument("--lora-rank", type=positive_int, default=16)
    p.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for activation memory")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                   help="auto: bf16 on GPUs that have it (else fp16) and on CPUs with native bf16")
    p.add_argument("--max-length", type=int, help="truncate texts to this many tokens while training")
    p.add_argument("--eval-every", type=int, help="steps between dev evaluations (default once per epoch)")
    p.add_argument("--patience", type=int, default=3, help="evaluations without improvement before stopping (0: never)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--device", help="cuda, cpu … (default: CUDA when present)")
    run_state = p.add_mutually_exclusive_group()
    run_state.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    run_state.add_argument("--overwrite", action="store_true", help="delete --out and start again")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.cross_encoder:
        return run_cross_encoder(args)
    from hybrid.recipes import DEFAULT_MODEL
    from hybrid.settings import load_settings
    from hybrid.training.dev_eval import DevSet
    from hybrid.training.examples import read_examples
    from hybrid.training.trainer import TrainConfig, train

    settings = load_settings(Path(args.config) if args.config else None, model=args.model, device=args.device)
    model = settings.model or DEFAULT_MODEL
    config = TrainConfig(
        **_given(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr),
        max_steps=args.max_steps, grad_accum=args.grad_accum, temperature=args.temperature,
        hard_negatives=args.hard_negatives, loss=args.loss, lora=args.lora, lora_rank=args.lora_rank, gradient_checkpointing=args.gradient_checkpointing, precision=args.precision,
        max_length=args.max_length, eval_every=args.eval_every, patience=args.patience or None, seed=args.seed,
    )
    examples = read_examples(args.data)
    dev = None
    if args.dev:
        dev = DevSet.load(data_path(args.dev), args.dev_split, instruction=args.dev_instruction,
                          distractors=args.dev_distractors, seed=args.seed)
    print(f"training {model} on {len(examples)} examples"
          + (f"; dev: {len(dev.queries)} queries over {len(dev.doc_ids)} documents" if dev else ""),
          file=sys.stderr)
    report = train(model, examples, args.out, config, dev=dev, device=settings.device,
                   resume=args.resume, overwrite=args.overwrite, progress=on_terminal())
    dev_line = ""
    if report.best_ndcg is not None:
        base = f"{report.base_ndcg:.4f} -> " if report.base_ndcg is not None else ""
        dev_line = f"; dev nDCG@10 (dense) {base}{report.best_ndcg:.4f} (best at step {report.best_step})"
    print(f"trained {report.steps} steps in {report.seconds:.0f} s ({report.examples_per_second:.1f} examples/s) "
          f"on {report.device}{dev_line}{'; stopped early' if report.stopped_early else ''}")
    print(f"wrote {report.output} — use it with --model {report.output}")
    return 0


def run_cross_encoder(args: argparse.Namespace) -> int:
    from hybrid.recipes import DEFAULT_MODEL
    from hybrid.settings import load_settings
    from hybrid.training.examples import read_examples
    from hybrid.training.reranker import RerankerConfig, train_reranker

    if args.dev or args.resume:
        print("error: --dev and --resume are for the dense encoder; measure a cross-encoder with "
              "`hybrid eval --rerank N --reranker OUT`", file=sys.stderr)
        return 2
    if args.grad_accum != 1:
        print("error: a cross-encoder step is --batch-size queries; --micro-batch sets how many go through "
              "one forward pass (instead of --grad-accum)", file=sys.stderr)
        return 2
    settings = load_settings(Path(args.config) if args.config else None, model=args.model, device=args.device)
    model = settings.model or DEFAULT_MODEL
    config = RerankerConfig(
        **_given(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, max_length=args.max_length),
        max_steps=args.max_steps, micro_batch=args.micro_batch, group_size=args.group_size, lora=args.lora,
        lora_rank=args.lora_rank, precision=args.precision, seed=args.seed)
    examples = read_examples(args.data)
    print(f"training a cross-encoder from {model} on {len(examples)} queries (groups of {config.group_size})",
          file=sys.stderr)
    report = train_reranker(model, examples, args.out, config, device=settings.device, overwrite=args.overwrite,
                            progress=on_terminal())
    loss = f", final loss {report.final_loss:.3f}" if report.final_loss is not None else ""
    print(f"trained {report.steps} steps in {report.seconds:.0f} s ({report.pairs_per_second:.1f} pairs/s) "
          f"on {report.device}{loss}")
    print(f"wrote {report.output} — use it with --reranker {report.output} --rerank N")
    return 0


def _given(**values: object) -> dict[str, object]:
    """The flags given (the rest take the trainer's own defaults, which differ between the two trainers)."""
    return {k: v for k, v in values.items() if v is not None}
