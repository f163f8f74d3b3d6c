"""The contrastive objective: InfoNCE over in-batch and BM25-mined hard negatives.

For a batch of B examples the passages are laid out as B positives (column i belongs to query i)
followed by up to B * h hard negatives. Query i is scored against every passage; the loss is the
cross-entropy of picking column i at temperature ``tau``. Another query's positive that is also
judged relevant for query i (the same document twice in a batch) is masked out, so a true positive
is never pushed away as a negative.

Margin distillation (GPL, arXiv 2112.07577) instead learns a teacher's judgement: for a query, one
positive and one negative, the student's score margin is regressed onto the cross-encoder's margin
(MarginMSE). The student's cosines are divided by the temperature, so both margins are logits.
"""

from __future__ import annotations

import random

import torch

from hybrid.encoders import Encoder
from hybrid.recipes import resolve_instruction
from hybrid.training.examples import Passage, TrainingExample


def info_nce(queries: torch.Tensor, passages: torch.Tensor, masked: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean InfoNCE loss; query i's positive is passage i; ``masked[i, j]`` removes passage j for query i.

    Similarity is cosine (embeddings are L2-normalised here), the scale every temperature in the
    literature (0.01–0.05) is given for.
    """
    q = torch.nn.functional.normalize(queries.float(), dim=-1)
    p = torch.nn.functional.normalize(passages.float(), dim=-1)
    logits = (q @ p.T) / temperature
    logits = logits.masked_fill(masked.to(logits.device), torch.finfo(logits.dtype).min)
    labels = torch.arange(q.shape[0], device=logits.device)
    return torch.nn.functional.cross_entropy(logits, labels)


def margin_mse(queries: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor, teacher_margins: torch.Tensor,
               temperature: float) -> torch.Tensor:
    """Mean squared error between the student's margin ``(cos(q, p) - cos(q, n)) / tau`` and the teacher's."""
    q = torch.nn.functional.normalize(queries.float(), dim=-1)
    p = torch.nn.functional.normalize(positives.float(), dim=-1)
    n = torch.nn.functional.normalize(negatives.float(), dim=-1)
    student = ((q * p).sum(-1) - (q * n).sum(-1)) / temperature
    return torch.nn.functional.mse_loss(student, teacher_margins.to(student.device).float())


def scored(passages: tuple[Passage, ...]) -> tuple[Passage, ...]:
    return tuple(p for p in passages if p.teacher_score is not None)


class ContrastiveCollator:
    """Examples → templated, tokenised query and passage batches plus the false-negative mask.

    Each step uses one positive and ``hard_negatives`` negatives per example, drawn afresh every
    time the example is seen (so several mined negatives are used over the epochs).
    """

    def __init__(self, encoder: Encoder, hard_negatives: int, seed: int, *, distill: bool = False) -> None:
        if hard_negatives < 0:
            raise ValueError("hard_negatives must be >= 0")
        self.encoder = encoder
        self.hard_negatives = hard_negatives
        self.distill = distill
        self._rng = random.Random(seed)

    def __call__(self, examples: list[TrainingExample]) -> dict[str, object]:
        spec = self.encoder.spec
        queries = [spec.format_query(ex.query, resolve_instruction(ex.instruction)) for ex in examples]
        if self.distill:
            return self._margin_batch(examples, queries)
        chosen = [self._rng.choice(ex.positives) for ex in examples]
        negatives = [n for ex in examples
                     for n in self._rng.sample(ex.negatives, min(self.hard_negatives, len(ex.negatives)))]
        passages = chosen + negatives
        relevant = [{p.id for p in ex.positives} for ex in examples]
        masked = torch.tensor([[j != i and passage.id in relevant[i] for j, passage in enumerate(passages)]
                               for i in range(len(examples))], dtype=torch.bool)
        return {
            "queries": self.encoder.tokenize(queries),
            "passages": self.encoder.tokenize([spec.format_passage(p.text) for p in passages]),
            "masked": masked,
        }

    def _margin_batch(self, examples: list[TrainingExample], queries: list[str]) -> dict[str, object]:
        """Queries, then B positives followed by B negatives, each pair's teacher margin."""
        spec = self.encoder.spec
        positives = [self._rng.choice(scored(ex.positives)) for ex in examples]
        negatives = [self._rng.choice(scored(ex.negatives)) for ex in examples]
        margins = [float(p.teacher_score) - float(n.teacher_score)  # type: ignore[arg-type]
                   for p, n in zip(positives, negatives)]
        return {
            "queries": self.encoder.tokenize(queries),
            "passages": self.encoder.tokenize([spec.format_passage(p.text) for p in positives + negatives]),
            "teacher_margins": torch.tensor(margins, dtype=torch.float32),
        }


class DualEncoder(torch.nn.Module):
    """One shared encoder for queries and passages; ``forward`` returns the loss (what Trainer wants)."""

    def __init__(self, encoder: Encoder, temperature: float) -> None:
        super().__init__()
        if not 0 < temperature <= 1:
            raise ValueError("temperature must be in (0, 1]")
        self.encoder = encoder
        self.backbone = encoder.module  # registered, so Trainer sees, moves, saves and restores its weights
        self.temperature = temperature

    def forward(self, queries: dict[str, torch.Tensor], passages: dict[str, torch.Tensor],
                masked: torch.Tensor | None = None, teacher_margins: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """InfoNCE over the batch (``masked`` given), or MarginMSE (``teacher_margins`` given; the passages
        are B positives followed by B negatives)."""
        q, p = self.encoder.forward(queries), self.encoder.forward(passages)
        if teacher_margins is not None:
            half = q.shape[0]
            return {"loss": margin_mse(q, p[:half], p[half:], teacher_margins, self.temperature)}
        if masked is None:
            raise ValueError("InfoNCE needs the false-negative mask")
        return {"loss": info_nce(q, p, masked, self.temperature)}
