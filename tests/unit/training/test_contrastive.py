"""InfoNCE and the batch layout, checked against the definition on small hand-made tensors."""

from __future__ import annotations

import math

import pytest
import torch

from hybrid.encoders import load_encoder
from hybrid.recipes import BMRETRIEVER_INSTRUCTIONS
from hybrid.training.contrastive import ContrastiveCollator, info_nce, margin_mse
from hybrid.training.errors import TrainingDataError
from hybrid.training.examples import Passage, TrainingExample
from hybrid.training.trainer import TrainConfig, train
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox


def test_info_nce_matches_the_definition() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    tau = 0.1
    cos = [[1.0, 0.0, 1 / math.sqrt(2)], [0.0, 1.0, 1 / math.sqrt(2)]]
    expected = sum(-math.log(math.exp(row[i] / tau) / sum(math.exp(c / tau) for c in row))
                   for i, row in enumerate(cos)) / 2
    no_mask = torch.zeros(2, 3, dtype=torch.bool)
    assert info_nce(q, p, no_mask, tau).item() == pytest.approx(expected, rel=1e-5)


def test_masked_passages_do_not_count_as_negatives() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # passage 2 duplicates query 0's positive
    masked = torch.tensor([[False, False, True], [False, False, False]])
    tau = 0.5
    row0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(0)))
    row1 = -math.log(math.exp(1 / tau) / (math.exp(0) + math.exp(1 / tau) + math.exp(0)))
    assert info_nce(q, p, masked, tau).item() == pytest.approx((row0 + row1) / 2, rel=1e-5)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = save_tiny_gpt_neox(tmp_path_factory.mktemp("tiny") / "m")
    return load_encoder(str(folder), device="cpu", precision="fp32", max_length=32)


def _example(qid: str, instruction: str | None, positives: list[str], negatives: list[str]) -> TrainingExample:
    return TrainingExample(qid, f"query {qid}", instruction, tuple(Passage(p, f"passage {p}") for p in positives),
                           tuple(Passage(n, f"passage {n}") for n in negatives))


def test_collator_layout_and_false_negative_mask(tiny) -> None:  # type: ignore[no-untyped-def]
    examples = [
        _example("a", "scifact", ["d1"], ["n1", "n2", "n3"]),
        _example("b", None, ["d3"], ["d1"]),  # a's positive, mined as b's negative
        _example("c", None, ["d1", "d4"], []),  # d1 is relevant to c as well
    ]
    batch = ContrastiveCollator(tiny, hard_negatives=2, seed=0)(examples)
    # columns: positives of a, b, c (c's drawn from d1/d4), then 2 negatives of a, 1 of b, 0 of c
    assert batch["queries"]["input_ids"].shape[0] == 3
    assert batch["passages"]["input_ids"].shape[0] == 3 + 2 + 1
    masked = batch["masked"]
    assert masked.shape == (3, 6) and not masked.diagonal().any()
    assert masked[0, 5] and masked[2, 5]  # b's negative d1 is relevant to a and c: never pushed away
    assert not masked[1, 5]  # for b it is a real negative
    assert not masked[1].any() and not masked[0, 1] and not masked[0, 3] and not masked[0, 4]
    assert bool(masked[0, 2]) == bool(masked[2, 0])  # a and c share d1 exactly when c drew d1


def test_collator_applies_each_examples_instruction(tiny, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: list[list[str]] = []
    original = tiny.tokenize
    monkeypatch.setattr(tiny, "tokenize", lambda texts: (seen.append(texts), original(texts))[1])
    ContrastiveCollator(tiny, hard_negatives=0, seed=0)([
        _example("a", "scifact", ["d1"], []), _example("b", "Find the abstract", ["d2"], []),
        _example("c", None, ["d3"], []),
    ])
    queries, passages = seen
    assert queries == [
        f"{BMRETRIEVER_INSTRUCTIONS['scifact']}\nQuery: query a",
        "Find the abstract\nQuery: query b",
        f"{tiny.spec.default_instruction}\nQuery: query c",
    ]
    assert passages == [f"Represent this passage\npassage: passage d{i}" for i in (1, 2, 3)]


def test_hard_negative_count_is_validated(tiny) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        ContrastiveCollator(tiny, hard_negatives=-1, seed=0)


def test_margin_mse_matches_the_definition() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    p = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    n = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    teacher = torch.tensor([5.0, -1.0])
    tau = 0.1
    student = [(1.0 - 0.0) / tau, (1 / math.sqrt(2) - 1.0) / tau]
    expected = ((student[0] - 5.0) ** 2 + (student[1] + 1.0) ** 2) / 2
    assert margin_mse(q, p, n, teacher, tau).item() == pytest.approx(expected, rel=1e-5)


def _scored(qid: str, positive: tuple[str, float], negatives: list[tuple[str, float | None]]) -> TrainingExample:
    return TrainingExample(qid, f"query {qid}", None, (Passage(positive[0], f"passage {positive[0]}", positive[1]),),
                           tuple(Passage(n, f"passage {n}", s) for n, s in negatives))


def test_distilling_collator_pairs_each_query_with_a_scored_negative_and_the_teacher_margin(tiny) -> None:  # type: ignore[no-untyped-def]
    examples = [_scored("a", ("d1", 4.0), [("n1", 1.5), ("n2", None)]), _scored("b", ("d2", 0.5), [("n3", -2.0)])]
    batch = ContrastiveCollator(tiny, hard_negatives=1, seed=0, distill=True)(examples)
    assert batch["passages"]["input_ids"].shape[0] == 4  # d1, d2, then one negative each
    assert batch["teacher_margins"].tolist() == [2.5, 2.5]  # n2 has no score, so a's negative is n1


def test_margin_distillation_refuses_examples_without_teacher_scores(tmp_path) -> None:  # type: ignore[no-untyped-def]
    examples = [_scored("a", ("d1", 4.0), [("n1", 1.5)]), _scored("b", ("d2", 0.5), [("n3", None)])]
    with pytest.raises(TrainingDataError, match="'b'.*teacher_score"):
        train("minilm", examples, tmp_path / "run", TrainConfig(loss="margin-mse", batch_size=2))
