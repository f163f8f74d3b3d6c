"""`train` on tiny models: the loss goes down, the output loads through the encoder layer, resume resumes."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from hybrid.data import sample_dir
from hybrid.encoders import load_encoder
from hybrid.recipes import SPEC_FILE, EncoderSpec
from hybrid.training.contrastive import ContrastiveCollator, DualEncoder
from hybrid.training.dev_eval import DevSet
from hybrid.training.examples import Passage, TrainingDataError, TrainingExample
from hybrid.training.memory import ModelTooLargeError, check_fits, required_bytes
from hybrid.training.trainer import OutputExistsError, TrainConfig, train
from tests.unit.encoders.tiny_models import WORDS, save_tiny_gpt_neox

TEXTS = ["protein gene mice", "cancer trial dose patients", "the cell study results"]


def word_examples(n: int, seed: int = 0) -> list[TrainingExample]:
    """Queries made of words of their passage: learnable even by a 2-layer model with a word vocabulary."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.sample(WORDS, 6)
        negative = rng.sample([w for w in WORDS if w not in words], 4)
        out.append(TrainingExample(str(i), " ".join(words[:3]), None, (Passage(f"p{i}", " ".join(words)),),
                                   (Passage(f"n{i}", " ".join(negative)),)))
    return out


def batch_loss(encoder, examples: list[TrainingExample]) -> float:  # type: ignore[no-untyped-def]
    model = DualEncoder(encoder, temperature=0.05).eval()
    with torch.no_grad():
        return float(model(**ContrastiveCollator(encoder, 1, seed=5)(examples))["loss"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_gpt_neox(tmp_path_factory.mktemp("tiny") / "m")


FAST = dict(batch_size=8, learning_rate=3e-3, temperature=0.05, precision="fp32", warmup_ratio=0.0, patience=None)


@pytest.mark.parametrize("lora", [True, False], ids=["lora-checkpointed", "full"])
def test_training_reduces_the_loss_and_the_output_embeds_identically(tiny: Path, tmp_path: Path, lora: bool) -> None:
    examples = word_examples(48)
    base = load_encoder(str(tiny), device="cpu", precision="fp32")
    base = load_encoder(base.spec.replace(normalize=True, similarity="cosine"), device="cpu", precision="fp32")
    before = batch_loss(base, examples)
    report = train(str(tiny), examples, tmp_path / "run", TrainConfig(epochs=4, lora=lora, gradient_checkpointing=lora, **FAST),
                   device="cpu", progress=False)
    assert report.steps == 4 * 6 and report.trainable_parameters > 0
    reloaded = load_encoder(str(tmp_path / "run"), device="cpu", precision="fp32")
    assert batch_loss(reloaded, examples) < before - 0.1
    assert report.encoder is not None
    for texts in (TEXTS, ["mice"]):
        np.testing.assert_allclose(reloaded.encode_passages(texts), report.encoder.encode_passages(texts), atol=1e-5)
        np.testing.assert_allclose(reloaded.encode_queries(texts), report.encoder.encode_queries(texts), atol=1e-5)
    spec = json.loads((tmp_path / "run" / SPEC_FILE).read_text())
    assert spec["kind"] == "decoder" and spec["pooling"] == "last_token" and spec["similarity"] == "cosine"
    fingerprint = json.loads((tmp_path / "run" / "fingerprint.json").read_text())
    assert fingerprint["weights"] == reloaded.fingerprint.weights  # checkpoints/ is not part of the identity
    assert fingerprint == dataclasses.asdict(reloaded.fingerprint)  # what ingest will stamp into an index
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any("loss" in r for r in logged) and (tmp_path / "run" / "training-curve.png").stat().st_size > 1000


def test_sentence_transformers_model_trains_and_reloads(minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    examples = word_examples(8)
    report = train("minilm", examples, tmp_path / "run", TrainConfig(max_steps=2, max_length=32, gradient_checkpointing=True, **{
        **FAST, "batch_size": 4, "learning_rate": 1e-5}), device="cpu", progress=False)
    assert report.steps == 2 and report.trainable_parameters > 20_000_000  # full fine-tuning
    reloaded = load_encoder(str(tmp_path / "run"), device="cpu", precision="fp32")
    assert reloaded.spec.kind == "sentence-transformers" and reloaded.spec.max_length == minilm.spec.max_length
    np.testing.assert_allclose(reloaded.encode_passages(TEXTS), report.encoder.encode_passages(TEXTS), atol=1e-5)
    assert not np.allclose(reloaded.encode_passages(TEXTS), minilm.encode_passages(TEXTS), atol=1e-6)


def test_resume_continues_from_the_saved_step(tiny: Path, tmp_path: Path) -> None:
    examples = word_examples(32)
    config = dict(FAST, eval_every=2)
    first = train(str(tiny), examples, tmp_path / "run", TrainConfig(max_steps=2, **config), device="cpu",
                  progress=False)
    assert first.steps == 2 and (tmp_path / "run" / "checkpoints" / "checkpoint-2").is_dir()
    with pytest.raises(OutputExistsError, match="--resume"):
        train(str(tiny), examples, tmp_path / "run", TrainConfig(max_steps=4, **config), device="cpu", progress=False)
    second = train(str(tiny), examples, tmp_path / "run", TrainConfig(max_steps=4, **config), device="cpu",
                   resume=True, progress=False)
    assert second.steps == 4
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == [1, 2, 3, 4]  # the second run logged steps 3 and 4 only: it resumed, not restarted


class DevScript:
    """Dev nDCG@10 values given in advance, one per evaluation (step 0 first), and the trained weights as
    they were at each evaluation: which evaluation is best is then known, whatever tiny models learn."""

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)
        self.embeddings: dict[int, np.ndarray] = {}
        self.trainer_step = 0

    def __call__(self, encoder, dev, batch_size=None) -> float:  # type: ignore[no-untyped-def]
        module = encoder.module
        was_training = module.training
        module.eval()
        self.embeddings[len(self.embeddings)] = encoder.encode_passages(TEXTS)
        module.train(was_training)
        return self.values.pop(0)


def _scripted_run(tiny: Path, tmp_path: Path, monkeypatch, values: list[float], **config):  # type: ignore[no-untyped-def]
    import hybrid.training.trainer

    script = DevScript(values)
    monkeypatch.setattr(hybrid.training.trainer, "dense_ndcg", script)
    dev = DevSet.load(sample_dir(), "dev", distractors=10)
    report = train(str(tiny), word_examples(32), tmp_path / "run",
                   TrainConfig(eval_every=2, lora=False, **{**FAST, **config}), dev=dev, device="cpu", progress=False)
    evals = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    scores = {r["step"]: r["eval_ndcg@10"] for r in evals if "eval_ndcg@10" in r}
    return report, script, scores


def test_the_best_evaluation_not_the_last_is_what_gets_written(tiny: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    report, script, scores = _scripted_run(tiny, tmp_path, monkeypatch, [0.2, 0.3, 0.6, 0.4], max_steps=6)
    assert scores == {0: 0.2, 2: 0.3, 4: 0.6, 6: 0.4}
    assert (report.best_step, report.best_ndcg, report.base_ndcg, report.steps) == (4, 0.6, 0.2, 6)
    written = load_encoder(str(tmp_path / "run"), device="cpu", precision="fp32").encode_passages(TEXTS)
    np.testing.assert_allclose(written, script.embeddings[2], atol=1e-5)  # the third evaluation: step 4
    assert not np.allclose(written, script.embeddings[3], atol=1e-4)  # not the last step's weights


def test_early_stopping_after_patience_evaluations_without_improvement(tiny: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    report, script, scores = _scripted_run(tiny, tmp_path, monkeypatch, [0.2, 0.5, 0.4, 0.3] + [0.1] * 10,
                                           max_steps=20, patience=2)
    assert sorted(scores) == [0, 2, 4, 6]  # two evaluations without improvement after step 2, then stop
    assert report.stopped_early and report.steps == 6 and report.best_step == 2
    written = load_encoder(str(tmp_path / "run"), device="cpu", precision="fp32").encode_passages(TEXTS)
    np.testing.assert_allclose(written, script.embeddings[1], atol=1e-5)


def test_gradient_accumulation_steps_once_per_accumulated_batch(tiny: Path, tmp_path: Path) -> None:
    examples = word_examples(48)
    base = load_encoder(str(tiny), device="cpu", precision="fp32")
    base = load_encoder(base.spec.replace(normalize=True, similarity="cosine"), device="cpu", precision="fp32")
    before = batch_loss(base, examples)
    config = TrainConfig(epochs=3, lora=False, **{**FAST, "batch_size": 4, "grad_accum": 3})
    report = train(str(tiny), examples, tmp_path / "run", config, device="cpu", progress=False)
    # 48 examples in batches of 4 = 12 batches an epoch; one optimiser step per 3 of them.
    assert report.steps == 3 * 12 // 3
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in logged if "loss" in r) <= report.steps
    assert batch_loss(load_encoder(str(tmp_path / "run"), device="cpu", precision="fp32"), examples) < before - 0.1


def test_dev_split_without_qrels_is_refused(tmp_path: Path) -> None:
    shutil.copytree(sample_dir(), tmp_path / "ds")
    with pytest.raises(TrainingDataError, match="has no qrels"):
        DevSet.load(tmp_path / "ds", "test")


def test_a_model_too_large_for_memory_is_refused_before_loading(tiny: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import hybrid.training.memory

    spec = load_encoder(str(tiny), device="cpu").spec
    parameters = check_fits(spec, torch.device("cpu"), lora=False)
    assert parameters is not None and parameters > 10_000
    monkeypatch.setattr(hybrid.training.memory, "available_bytes", lambda device: required_bytes(parameters, lora=False) - 1)
    with pytest.raises(ModelTooLargeError, match="try --lora"):
        check_fits(spec, torch.device("cpu"), lora=False)
    assert check_fits(spec, torch.device("cpu"), lora=True) == parameters  # LoRA needs a quarter


def test_cli_rejects_empty_positives_before_loading_a_model(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from hybrid.cli import main

    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"query_id": "q7", "query": "q", "positives": []}) + "\n")
    assert main(["train", str(data), "--model", "no/such-model", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "q7" in err and "has no positives" in err and not (tmp_path / "run").exists()


def test_trained_spec_round_trips(tiny: Path, tmp_path: Path) -> None:
    train(str(tiny), word_examples(16), tmp_path / "run", TrainConfig(max_steps=1, **FAST), device="cpu",
          progress=False)
    stored = json.loads((tmp_path / "run" / SPEC_FILE).read_text())
    spec = EncoderSpec(**stored, source=str(tmp_path / "run"))
    assert spec.gguf_file is None and spec.model_id.endswith("+run")
