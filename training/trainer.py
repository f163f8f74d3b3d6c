"""`hybrid train`: contrastive fine-tuning of any encoder preset, written out as a loadable encoder.

Why Hugging Face's ``Trainer`` and not sentence-transformers' trainer: the BMRetriever recipe
(instruction templates, EOS appended by hand, last-token pooling from the attention mask) lives in
``hybrid.encoders`` and is used verbatim at inference. ``Trainer`` trains any ``nn.Module`` whose
``forward`` returns a loss, so the model trained here *is* the encoder layer's tokenisation and
pooling (``DualEncoder`` in contrastive.py) — one implementation for MiniLM-type models and decoder
LMs — while the Trainer supplies mixed precision, gradient accumulation and checkpointing, LoRA
models, checkpoints with optimiser state, resume, best-checkpoint selection and early stopping.
sentence-transformers' trainer would need the decoder recipe re-implemented as its modules.

Output folder::

    runs/x/hybrid-encoder.json   the recipe (EncoderSpec) — `load_encoder("runs/x")` reads it
    runs/x/fingerprint.json      the fingerprint the folder has when loaded (what ingest stamps into an
                                 index), written for people and tools; the encoder layer recomputes it
    runs/x/<weights, tokenizer>  sentence-transformers model, or the (LoRA-merged) decoder
    runs/x/training.json         config, data, hardware, timings, best dev nDCG@10
    runs/x/metrics.jsonl, training-curve.png, checkpoints/   (checkpoints: resume and best model)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from hybrid.encoders import Encoder, load_encoder
from hybrid.encoders.device import cpu_has_native_bf16, pick_device
from hybrid.recipes import SPEC_FILE, EncoderSpec, Fingerprint, resolve_spec
from hybrid.recipes.fingerprint import weights_digest
from hybrid.training.contrastive import ContrastiveCollator, DualEncoder, scored
from hybrid.training.curve import CURVE_FILE, METRICS_FILE, MetricsLog, plot_curve
from hybrid.training.dev_eval import DevSet, dense_ndcg
from hybrid.training.errors import OutputExistsError, TrainingDataError
from hybrid.training.examples import TrainingExample
from hybrid.training.memory import check_fits

TrainPrecision = Literal["auto", "fp32", "bf16", "fp16"]
CHECKPOINTS = "checkpoints"
REPORT_FILE = "training.json"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; defaults suit MiniLM on a few thousand examples (see README for decoders)."""

    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 32  # examples per device step; in-batch negatives come from these
    grad_accum: int = 1
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    temperature: float = 0.05
    hard_negatives: int = 1  # per example per step
    lora: bool | None = None  # None: LoRA for decoders, full fine-tuning for sentence-transformers models
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    gradient_checkpointing: bool = False
    precision: TrainPrecision = "auto"
    max_length: int | None = None  # training-time truncation; the written encoder keeps the model's own
    eval_every: int | None = None  # steps; default once per epoch
    patience: int | None = 3  # evaluations without improvement before stopping; None: never stop early
    seed: int = 13
    loss: Literal["infonce", "margin-mse"] = "infonce"  # margin-mse: distil teacher_score margins (GPL)

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError("batch_size must be >= 2 (in-batch negatives need company)")
        if self.grad_accum < 1 or self.learning_rate <= 0 or self.epochs <= 0:
            raise ValueError("grad_accum >= 1, learning_rate > 0 and epochs > 0 are required")
        if self.loss not in ("infonce", "margin-mse"):
            raise ValueError(f"loss {self.loss!r}: choose infonce or margin-mse")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"precision {self.precision!r}: choose auto, fp32, bf16 or fp16")

    def use_lora(self, spec: EncoderSpec) -> bool:
        return spec.kind == "decoder" if self.lora is None else self.lora


@dataclass
class TrainReport:
    output: Path
    steps: int
    seconds: float
    examples_per_second: float
    base_ndcg: float | None
    best_ndcg: float | None
    best_step: int | None
    stopped_early: bool
    device: str
    parameters: int | None
    trainable_parameters: int
    peak_gpu_memory_gib: float | None
    processes: int = 1  # data-parallel processes (torchrun / accelerate launch)
    encoder: Encoder | None = dataclasses.field(default=None, repr=False, compare=False)  # the trained model

    def summary(self) -> dict[str, object]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items() if k != "encoder"}


def trained_spec(base: EncoderSpec, output: Path) -> EncoderSpec:
    """The recipe the trained encoder is used with: the base's, scored by cosine as the loss trained it."""
    return base.replace(model_id=f"{base.model_id}+{output.name}", source=str(output), gguf_file=None,
                        revision=None, quantize=None, name=None, normalize=True, similarity="cosine")


def _mixed_precision(config: TrainConfig, device: torch.device) -> dict[str, bool]:
    if config.precision == "fp32":
        return {}
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported() and config.precision != "fp16"
        return {"bf16": True} if bf16 else {"fp16": True}
    if config.precision == "fp16":
        raise ValueError("fp16 training needs a GPU; use bf16 or fp32 on the CPU")
    return {"bf16": True} if config.precision == "bf16" or cpu_has_native_bf16() else {}


def with_lora(model: torch.nn.Module, task: str, rank: int, alpha: int, dropout: float) -> torch.nn.Module:
    """``model`` with LoRA adapters on every linear layer of its body (peft ``TaskType`` name ``task``; for a
    sequence classifier peft also keeps the new head trainable)."""
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(task_type=TaskType[task], r=rank, lora_alpha=alpha, lora_dropout=dropout,
                      target_modules="all-linear")
    return get_peft_model(model, lora)  # type: ignore[arg-type, return-value]


def _hf_model(encoder: Encoder) -> torch.nn.Module:
    """The transformers model inside the encoder (for gradient checkpointing)."""
    module = encoder.module
    if hasattr(module, "gradient_checkpointing_enable"):
        return module
    return module[0].model if hasattr(module[0], "model") else module[0].auto_model  # type: ignore[index, no-any-return]


def write_encoder(encoder: Encoder, spec: EncoderSpec, output: Path) -> None:
    """Weights, recipe and fingerprint: everything `load_encoder(output)` and ingest need."""
    encoder.save_weights(output)
    stored = {k: v for k, v in dataclasses.asdict(spec).items() if k != "source"}
    (output / SPEC_FILE).write_text(json.dumps(stored, indent=2) + "\n")
    # What the encoder layer computes when it loads the folder (a local folder's identity is its
    # weights digest), without loading the model a second time.
    fingerprint = Fingerprint.of(spec, weights=weights_digest(output), dimension=encoder.dimension)
    (output / "fingerprint.json").write_text(json.dumps(dataclasses.asdict(fingerprint), indent=2) + "\n")


def _build_trainer(encoder: Encoder, examples: list[TrainingExample], output: Path, config: TrainConfig,
                   dev: DevSet | None, mixed: dict[str, bool], progress: bool, extra_callbacks: list[Any]) -> Any:
    from transformers import EarlyStoppingCallback, Trainer, TrainingArguments

    class ContrastiveTrainer(Trainer):
        def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            outputs = model(**inputs)
            return (outputs["loss"], outputs) if return_outputs else outputs["loss"]

        def evaluate(self, eval_dataset: Any = None, ignore_keys: Any = None,
                     metric_key_prefix: str = "eval") -> dict[str, float]:
            metrics = {f"{metric_key_prefix}_ndcg@10": dense_ndcg(encoder, dev)}  # type: ignore[arg-type]
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            return metrics

    # A ragged last batch of one or two examples has almost no in-batch negatives: drop it.
    drop_last = len(examples) >= 2 * config.batch_size
    per_epoch = max(1, (len(examples) // config.batch_size if drop_last else math.ceil(len(examples) / config.batch_size))
                    // config.grad_accum)
    every = config.eval_every or per_epoch
    evaluating = dev is not None
    args = TrainingArguments(
        output_dir=str(output / CHECKPOINTS),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        warmup_steps=max(0, round(config.warmup_ratio * (config.max_steps if config.max_steps > 0
                                                          else per_epoch * config.epochs))),
        weight_decay=config.weight_decay,
        lr_scheduler_type="linear",
        logging_steps=max(1, min(every, per_epoch) // 5),
        eval_strategy="steps" if evaluating else "no",
        eval_steps=every if evaluating else None,
        eval_on_start=evaluating,
        save_strategy="steps",
        save_steps=every,
        save_total_limit=2,
        load_best_model_at_end=evaluating,
        metric_for_best_model="ndcg@10" if evaluating else None,
        greater_is_better=True if evaluating else None,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_drop_last=drop_last,
        use_cpu=encoder.device.type == "cpu",
        seed=config.seed,
        report_to="none",
        disable_tqdm=not progress,
        **mixed,
    )
    callbacks: list[Any] = [MetricsLog(output / METRICS_FILE), *extra_callbacks]
    if evaluating and config.patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.patience))
    return ContrastiveTrainer(
        model=DualEncoder(encoder, config.temperature),
        args=args,
        train_dataset=examples,  # type: ignore[arg-type]
        eval_dataset=list(dev.queries) if dev else None,  # type: ignore[arg-type]
        data_collator=ContrastiveCollator(encoder, config.hard_negatives, config.seed,
                                          distill=config.loss == "margin-mse"),
        callbacks=callbacks,
    )


def train(model: str, examples: list[TrainingExample], output: Path, config: TrainConfig, *,
          dev: DevSet | None = None, device: str | None = None, resume: bool = False, overwrite: bool = False,
          progress: bool = True, cache_dir: Path | None = None, callbacks: list[Any] | None = None) -> TrainReport:
    """Fine-tune ``model`` (preset, path or hub name) on ``examples`` and write the encoder to ``output``."""
    if config.loss == "margin-mse":
        check_teacher_scores(examples)
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints = output / CHECKPOINTS
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last and not (resume or overwrite):
        raise OutputExistsError(f"{output} already holds checkpoints (last {Path(last).name}); pass --resume to "
                                "continue that run or --overwrite to start again")
    if overwrite and not resume and output.exists() and _rank() == 0:
        import shutil

        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)

    base = resolve_spec(model)
    torch_device = pick_device(device)
    if torch_device.type == "cuda" and torch_device.index is None and "LOCAL_RANK" in os.environ:
        torch_device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))  # one GPU per launched process
    lora = config.use_lora(base)
    parameters = check_fits(base, torch_device, lora)
    load_spec = base.replace(max_length=config.max_length) if config.max_length else base
    # Float32 weights for the optimiser; dev evaluation encodes the weights being trained, in torch: bf16
    # autocast on CPUs that have it (unless fp32 was asked for), else fp32 (never a frozen ONNX export).
    native_bf16 = torch_device.type == "cpu" and cpu_has_native_bf16() and config.precision != "fp32"
    encoder = load_encoder(load_spec, device=str(torch_device), dtype=torch.float32, cache_dir=cache_dir,
                           precision="bf16" if native_bf16 else "fp32")
    final_spec = trained_spec(base, output)
    encoder.spec = final_spec.replace(max_length=load_spec.max_length)  # train with the loss's own similarity
    if lora:
        encoder.model = with_lora(encoder.module, "FEATURE_EXTRACTION", config.lora_rank,  # type: ignore[attr-defined]
                                  config.lora_alpha, config.lora_dropout)
    if config.gradient_checkpointing:
        _hf_model(encoder).gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    trainable = sum(p.numel() for p in encoder.module.parameters() if p.requires_grad)

    mixed = _mixed_precision(config, torch_device)
    trainer = _build_trainer(encoder, examples, output, config, dev, mixed, progress, callbacks or [])
    if torch_device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(torch_device)
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last if resume and last else None)
    seconds = time.perf_counter() - started

    encoder.module.eval()
    state = trainer.state
    evals = [(r["step"], r["eval_ndcg@10"]) for r in state.log_history if "eval_ndcg@10" in r]
    base_ndcg = next((v for s, v in evals if s == 0), None)
    best = max(evals, key=lambda e: e[1]) if evals else None
    report = TrainReport(
        output=output,
        steps=state.global_step,
        seconds=seconds,
        examples_per_second=float(result.metrics.get("train_samples_per_second", 0.0)),
        base_ndcg=base_ndcg,
        best_ndcg=best[1] if best else None,
        best_step=best[0] if best else None,
        stopped_early=state.global_step < state.max_steps,
        device=_describe(torch_device),
        parameters=parameters,
        trainable_parameters=trainable,
        peak_gpu_memory_gib=(torch.cuda.max_memory_allocated(torch_device) / 2**30
                             if torch_device.type == "cuda" else None),
        processes=trainer.args.world_size,
        encoder=encoder,
    )
    if not trainer.is_world_process_zero():  # launched data-parallel: every process holds the same weights
        return report
    write_encoder(encoder, final_spec, output)
    (output / REPORT_FILE).write_text(json.dumps({
        "base_model": base.model_id, "examples": len(examples), "config": dataclasses.asdict(config),
        "mixed_precision": mixed, "lora": lora, **report.summary(),
    }, indent=2) + "\n")
    plot_curve(output / METRICS_FILE, output / CURVE_FILE, f"{base.model_id} → {output.name}")
    return report


def check_teacher_scores(examples: list[TrainingExample]) -> None:
    """Margin distillation needs, in every example, a positive and a negative with a teacher score."""
    for example in examples:
        if not scored(example.positives) or not scored(example.negatives):
            raise TrainingDataError(f"query {example.query_id!r}: --loss margin-mse needs a positive and a negative "
                                    "with a teacher_score in every example (`hybrid adapt` writes them)")


def _rank() -> int:
    """This process's rank when launched data-parallel (torchrun sets RANK), else 0."""
    return int(os.environ.get("RANK", "0"))


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
