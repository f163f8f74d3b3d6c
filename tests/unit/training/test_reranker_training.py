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
from tests.unit.encoders.tiny_models import save_tiny_cross_encoder, save_tiny_llama_lm

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


def _word_examples() -> list[TrainingExample]:
    """The same task in the tiny decoder's word vocabulary: the positive repeats the query's words."""
    pairs = [("protein", "gene"), ("cancer", "trial"), ("mice", "dose"), ("cell", "study"), ("patients", "results")]
    out = []
    for i, (a, b) in enumerate(pairs):
        others = "the a of in and to is was claim".split()
        negatives = tuple(Passage(f"n{i}-{j}", " ".join(others[j: j + 4])) for j in range(3))
        out.append(TrainingExample(f"q{i}", f"{a} {b}", None, (Passage(f"p{i}", f"the {a} {b} of {a}"),), negatives))
    return out


def test_a_decoder_base_trains_as_a_pointwise_reranker_with_lora_merged_into_what_it_writes(tmp_path: Path) -> None:
    base = save_tiny_llama_lm(tmp_path / "base")
    examples = _word_examples()
    before = _accuracy(load_reranker(str(base), device="cpu"), examples)
    config = RerankerConfig(max_steps=40, batch_size=4, group_size=4, learning_rate=1e-2, warmup_ratio=0.0,
                            max_length=32, lora_rank=4)
    report = train_reranker(str(base), examples, tmp_path / "out", config, device="cpu", progress=False)
    assert 0 < report.trained_parameters < report.parameters  # adapters and the head, not the body
    record = json.loads((tmp_path / "out" / RERANKER_FILE).read_text())
    assert record["reading"] == "prompt" and record["lora"] is True
    assert record["config"]["micro_batch"] == 2 and record["config"]["learning_rate"] == 1e-2
    trained = load_reranker(str(tmp_path / "out"), device="cpu")
    assert trained.reading == "prompt" and trained.tokenizer.pad_token_id != trained.tokenizer.eos_token_id
    assert not any("lora" in name for name, _ in trained.model.named_parameters())  # merged, plain weights
    assert _accuracy(trained, examples) == 1.0 > before


def test_decoder_defaults_are_lora_small_forward_passes_and_a_higher_learning_rate() -> None:
    decoder, encoder = RerankerConfig().resolved(decoder=True), RerankerConfig().resolved(decoder=False)
    assert (decoder.lora, decoder.micro_batch, decoder.learning_rate) == (True, 2, 3e-4)
    assert (encoder.lora, encoder.micro_batch, encoder.learning_rate) == (False, 8, 1e-4)
    assert RerankerConfig(batch_size=3).resolved(decoder=True).micro_batch == 1
    assert RerankerConfig(lora=False, micro_batch=4).resolved(decoder=True).micro_batch == 4
    with pytest.raises(ValueError, match="divide"):
        RerankerConfig(batch_size=8, micro_batch=3)
    with pytest.raises(ValueError, match="learning_rate > 0"):
        RerankerConfig(learning_rate=0.0)


def test_cli_refuses_what_a_cross_encoder_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"query": "q", "positives": [{"id": "1", "text": "t"}], "negatives": []}) + "\n")
    assert main(["train", str(data), "--cross-encoder", "--out", str(tmp_path / "o"), "--dev", "sample"]) == 2
    assert "hybrid eval --rerank" in capsys.readouterr().err
    assert main(["train", str(data), "--cross-encoder", "--out", str(tmp_path / "o"), "--grad-accum", "2"]) == 2
    assert "--micro-batch" in capsys.readouterr().err
