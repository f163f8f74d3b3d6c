"""`hybrid train --cross-encoder`: listwise groups from mined negatives, a run that learns, and an output
folder that loads wherever a cross-encoder name goes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from hybrid.cli import main
from hybrid.rerank.cross_encoder import RERANKER_FILE, load_reranker
from hybrid.training.examples import Passage, TrainingExample
from hybrid.training.reranker import RerankerConfig, groups, train_reranker
from tests.unit.encoders.tiny_models import save_tiny_cross_encoder

TOPICS = ["statin cholesterol", "insulin diabetes", "tumor chemotherapy", "vaccine antibody", "sleep memory",
          "smoking lung", "aspirin platelet", "obesity diet"]


NOISE = ["the cell cycle of mice", "protein folding in yeast", "gene expression atlas", "a history of medicine",
         "hospital staffing levels", "weather and mood"]


def _examples() -> list[TrainingExample]:
    """Each query's positive holds its words; its negatives are unrelated texts."""
    out = []
    for i, topic in enumerate(TOPICS):
        negatives = tuple(Passage(f"n{i}-{j}", NOISE[(i + j) % len(NOISE)]) for j in range(3))
        out.append(TrainingExample(f"q{i}", topic, None, (Passage(f"p{i}", f"a trial of {topic} outcomes"),), negatives))
    return out


def test_groups_put_the_positive_first_and_fill_short_groups_with_other_positives() -> None:
    examples = _examples()
    texts = groups(examples, 6, random.Random(0))
    for ex, group in zip(examples, texts):
        assert len(group) == 6 and group[0] == ex.positives[0].text
        assert set(n.text for n in ex.negatives) <= set(group[1:])  # all 3 mined ones, then 2 borrowed
        assert ex.positives[0].text not in group[1:]


def _accuracy(reranker, examples: list[TrainingExample]) -> float:  # type: ignore[no-untyped-def]
    hits = 0
    for ex in examples:
        scores = reranker.score(ex.query, [ex.positives[0].text, *(n.text for n in ex.negatives)])
        hits += int(scores.argmax() == 0)
    return hits / len(examples)


def test_training_learns_to_put_positives_first_and_writes_a_loadable_reranker(tmp_path: Path) -> None:
    base = save_tiny_cross_encoder(tmp_path / "base")
    examples = _examples()
    before = _accuracy(load_reranker(str(base), device="cpu"), examples)
    config = RerankerConfig(max_steps=30, batch_size=4, group_size=4, learning_rate=3e-3, warmup_ratio=0.0,
                            max_length=32)
    report = train_reranker(str(base), examples, tmp_path / "out", config, device="cpu", progress=False)
    assert report.steps == 30 and report.final_loss is not None
    trained = load_reranker(str(tmp_path / "out"), device="cpu")
    assert _accuracy(trained, examples) == 1.0 > before
    record = json.loads((tmp_path / "out" / RERANKER_FILE).read_text())
    assert record["max_length"] == 32 and trained.max_length == 32 and trained.name == record["name"]
    assert trained.fingerprint != load_reranker(str(base)).fingerprint
    assert not (tmp_path / "out" / "checkpoints").exists()
    with pytest.raises(FileExistsError, match="--overwrite"):
        train_reranker(str(base), examples, tmp_path / "out", config, device="cpu", progress=False)


def test_cli_refuses_what_a_cross_encoder_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"query": "q", "positives": [{"id": "1", "text": "t"}], "negatives": []}) + "\n")
    assert main(["train", str(data), "--cross-encoder", "--out", str(tmp_path / "o"), "--dev", "sample"]) == 2
    assert "hybrid eval --rerank" in capsys.readouterr().err
    assert main(["train", str(data), "--cross-encoder", "--out", str(tmp_path / "o"), "--model", "smollm2-135m"]) == 2
    assert "encoder-only base" in capsys.readouterr().err
