"""`hybrid train --cross-encoder`: a cross-encoder reranker trained on the same JSONL as the dense encoder.

Each step takes ``batch_size`` queries; each query is read together with one of its positives and
``group_size - 1`` of its BM25-mined negatives, and the loss is the cross-entropy of picking the positive
within its group (listwise, as rerankers trained on mined negatives are: the model learns to order a
first stage's top hits, which is exactly what it sees at search time). A query with fewer mined negatives
than the group needs is filled with other queries' positives that are not judged relevant to it.

The base is given a fresh one-output head: an encoder-only transformer (the MiniLM preset's BERT, or
any folder or hub name), fully fine-tuned; or a decoder LM (the SmolLM2 preset, a BMRetriever or any
causal LM folder) read as a pointwise reranker — each pair scored alone from its EOS token, the prompt
of ``hybrid.rerank.inputs`` — with LoRA adapters merged into the weights written out. Output folder::

    runs/x/<weights, tokenizer, config>   loads with AutoModelForSequenceClassification (and --reranker runs/x)
    runs/x/hybrid-reranker.json           base, max length, training config, data, hardware, timings
    runs/x/metrics.jsonl, training-curve.png
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hybrid.encoders.device import pick_device
from hybrid.encoders.gguf_cache import materialize_gguf
from hybrid.recipes import PRESETS, preset
from hybrid.rerank.cross_encoder import DEFAULT_BATCH_SIZE, RERANKER_FILE, CrossEncoder
from hybrid.rerank.inputs import encode_pairs, prepare_reading
from hybrid.training.curve import CURVE_FILE, METRICS_FILE, MetricsLog, plot_curve
from hybrid.training.errors import OutputExistsError
from hybrid.training.examples import TrainingExample
from hybrid.training.trainer import TrainPrecision, _describe, _mixed_precision, with_lora


@dataclass(frozen=True)
class RerankerConfig:
    """Defaults suit a MiniLM-sized base, or SmolLM2-135M with LoRA, on a few hundred to a few thousand
    queries. ``None`` fields depend on the base: ``resolved`` fills them in."""

    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 8  # queries per optimiser step
    # Queries per forward pass (the rest by gradient accumulation). None: the whole step for encoder-only
    # bases; 2 for decoders, whose activations (SmolLM2-135M, 2 × 8 pairs × 256 tokens) peak at 16.5 GB.
    micro_batch: int | None = None
    group_size: int = 8  # passages per query: one positive and group_size - 1 negatives
    # None: 1e-4 for full fine-tuning (3e-5 left MiniLM's loss at chance for 36 steps of a 77-step
    # SciFact epoch), 3e-4 for LoRA adapters, which start from zero and move only a few million weights.
    learning_rate: float | None = None
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256  # query + passage tokens
    lora: bool | None = None  # None: LoRA for decoder bases, full fine-tuning for encoder-only ones
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    precision: TrainPrecision = "auto"
    seed: int = 13

    def __post_init__(self) -> None:
        if self.group_size < 2:
            raise ValueError("group_size must be >= 2 (a positive and at least one negative)")
        lr_bad = self.learning_rate is not None and self.learning_rate <= 0
        if self.batch_size < 1 or self.epochs <= 0 or self.max_length < 16 or lr_bad:
            raise ValueError("batch_size >= 1, learning_rate > 0, epochs > 0 and max_length >= 16 are required")
        if self.micro_batch is not None and (self.micro_batch < 1 or self.batch_size % self.micro_batch):
            raise ValueError(f"micro_batch must divide batch_size ({self.batch_size}) evenly")

    def resolved(self, decoder: bool) -> RerankerConfig:
        """The settings for a base that is a decoder (or not): LoRA, micro-batch and learning rate filled in."""
        lora = decoder if self.lora is None else self.lora
        if self.micro_batch:
            micro = self.micro_batch
        elif decoder:
            micro = 2 if self.batch_size % 2 == 0 else 1
        else:
            micro = self.batch_size
        rate = self.learning_rate if self.learning_rate is not None else 3e-4 if lora else 1e-4
        return dataclasses.replace(self, lora=lora, micro_batch=micro, learning_rate=rate)


@dataclass
class RerankerReport:
    output: Path
    steps: int
    seconds: float
    pairs_per_second: float
    device: str
    parameters: int
    trained_parameters: int
    final_loss: float | None

    def summary(self) -> dict[str, object]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def groups(examples: list[TrainingExample], group_size: int, rng: random.Random) -> list[list[str]]:
    """Per example: the positive first, then ``group_size - 1`` negatives (mined ones first, then other
    examples' positives not relevant to it); passage texts."""
    out = []
    for i, ex in enumerate(examples):
        relevant = {p.id for p in ex.positives}
        negatives = [n for n in ex.negatives if n.id not in relevant]
        chosen = rng.sample(negatives, min(group_size - 1, len(negatives)))
        while len(chosen) < group_size - 1 and len(examples) > 1:
            other = examples[rng.randrange(len(examples))]
            if other is not examples[i]:
                extra = rng.choice(other.positives)
                if extra.id not in relevant:
                    chosen.append(extra)
        out.append([rng.choice(ex.positives).text, *(n.text for n in chosen)])
    return out


class GroupCollator:
    """Examples → tokenised (query, passage) pairs, ``group_size`` consecutive pairs per query."""

    def __init__(self, reranker: CrossEncoder, group_size: int, seed: int) -> None:
        self.reranker = reranker
        self.group_size = group_size
        self._rng = random.Random(seed)

    def __call__(self, examples: list[TrainingExample]) -> dict[str, Any]:
        texts = groups(examples, self.group_size, self._rng)
        queries = [ex.query for ex, group in zip(examples, texts) for _ in group]
        passages = [p for group in texts for p in group]
        batch = encode_pairs(self.reranker.tokenizer, queries, passages, self.reranker.max_length,
                             self.reranker.reading)
        return {"pairs": batch, "group_size": self.group_size}


class ListwiseReranker(torch.nn.Module):
    """The cross-encoder with a loss: ``forward`` returns the groups' cross-entropy (what Trainer wants)."""

    def __init__(self, reranker: CrossEncoder) -> None:
        super().__init__()
        self.reranker = reranker
        self.backbone = reranker.model  # registered, so Trainer sees, moves and saves its weights

    def forward(self, pairs: dict[str, torch.Tensor], group_size: int) -> dict[str, torch.Tensor]:
        logits = self.backbone(**pairs).logits[:, 0].float().view(-1, group_size)
        target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return {"loss": torch.nn.functional.cross_entropy(logits, target)}


def base_folder(model: str) -> str:
    """Where the base's transformer weights are: a preset's folder or hub name (a GGUF preset's float
    copy), else the folder or hub name as given."""
    if model.lower() not in PRESETS:
        return model
    spec = preset(model)
    return str(materialize_gguf(Path(spec.source), spec.gguf_file)) if spec.gguf_file else spec.source


def train_reranker(model: str, examples: list[TrainingExample], output: Path, config: RerankerConfig, *,
                   device: str | None = None, overwrite: bool = False, progress: bool = True) -> RerankerReport:
    """Train a cross-encoder from ``model`` on ``examples`` and write it to ``output``."""
    from transformers import Trainer, TrainingArguments

    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"{output} is not empty; pass --overwrite to replace it")
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    torch_device = pick_device(device)
    reranker = _fresh(base_folder(model), torch_device, config.max_length)
    config = config.resolved(decoder=reranker.reading == "prompt")
    lora, micro = bool(config.lora), config.micro_batch or config.batch_size
    if lora:  # the body gets adapters, the new score head is trained whole
        reranker.model = with_lora(reranker.model, "SEQ_CLS", config.lora_rank, config.lora_alpha, config.lora_dropout)

    class GroupTrainer(Trainer):
        def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            outputs = model(**inputs)
            return (outputs["loss"], outputs) if return_outputs else outputs["loss"]

    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = config.max_steps if config.max_steps > 0 else math.ceil(per_epoch * config.epochs)
    args = TrainingArguments(
        output_dir=str(output / "checkpoints"), num_train_epochs=config.epochs, max_steps=config.max_steps,
        per_device_train_batch_size=micro, gradient_accumulation_steps=config.batch_size // micro,
        learning_rate=config.learning_rate,
        warmup_steps=round(config.warmup_ratio * total), weight_decay=config.weight_decay,
        lr_scheduler_type="linear", logging_steps=max(1, total // 20), save_strategy="no",
        remove_unused_columns=False, dataloader_num_workers=0, use_cpu=torch_device.type == "cpu",
        seed=config.seed, report_to="none", disable_tqdm=not progress, **_mixed_precision(config, torch_device))  # type: ignore[arg-type]
    trainer = GroupTrainer(model=ListwiseReranker(reranker), args=args, train_dataset=examples,  # type: ignore[arg-type]
                           data_collator=GroupCollator(reranker, config.group_size, config.seed),
                           callbacks=[MetricsLog(output / METRICS_FILE)])
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    trained = sum(p.numel() for p in reranker.model.parameters() if p.requires_grad)
    if lora:
        reranker.model = reranker.model.merge_and_unload()  # type: ignore[operator]
    reranker.model.eval()
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    pairs = trainer.state.global_step * config.batch_size * config.group_size
    report = RerankerReport(output, trainer.state.global_step, seconds, pairs / max(seconds, 1e-9),
                            _describe(torch_device), sum(p.numel() for p in reranker.model.parameters()), trained,
                            losses[-1] if losses else None)
    reranker.model.save_pretrained(output)
    reranker.tokenizer.save_pretrained(output)  # type: ignore[attr-defined]
    shutil.rmtree(output / "checkpoints", ignore_errors=True)
    (output / RERANKER_FILE).write_text(json.dumps({
        "name": f"{Path(model).name}+{output.name}", "base": model, "max_length": config.max_length,
        "reading": reranker.reading, "lora": lora,
        "examples": len(examples), "config": dataclasses.asdict(config), **report.summary(),
    }, indent=2) + "\n")
    plot_curve(output / METRICS_FILE, output / CURVE_FILE, f"{model} → {output.name} (cross-encoder)")
    return report


def _fresh(folder: str, device: torch.device, max_length: int) -> CrossEncoder:
    """The base as a cross-encoder with a new one-output head, float32 weights for the optimiser."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()  # the new head's "newly initialized" warning is the point here
    try:
        model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    finally:
        logging.set_verbosity(level)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    reading = prepare_reading(tokenizer, model)
    return CrossEncoder(folder, model.to(device), tokenizer, device, max_length, DEFAULT_BATCH_SIZE, "training",
                        reading)
