"""`hybrid adapt` end to end on the bundled sample with tiny models: every step's output, teacher scores
that are the cross-encoder's, margin distillation, resuming from the work folder, and redoing exactly
the steps whose settings changed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from hybrid.cli import main
from hybrid.encoders import load_encoder
from hybrid.recipes import passage_text
from hybrid.rerank.cross_encoder import load_reranker
from hybrid.training.adapt import (
    LABELLED_FILE,
    QUERIES_FILE,
    STATE_FILE,
    TEACHER_DIR,
    AdaptConfig,
    adapt,
    trusted_negatives,
)
from hybrid.training.errors import TrainingDataError
from hybrid.training.examples import Passage, TrainingExample
from hybrid.training.reranker import RerankerConfig
from hybrid.training.trainer import TrainConfig
from tests.unit.encoders.tiny_models import save_tiny_cross_encoder, save_tiny_gpt_neox, save_tiny_llama_lm


def _config(tmp_path: Path, **changes: object) -> AdaptConfig:
    base = dict(
        model=str(save_tiny_gpt_neox(tmp_path / "dense")), generator=str(save_tiny_llama_lm(tmp_path / "lm")),
        passages=12, title_pairs=16, reranker_base=str(save_tiny_cross_encoder(tmp_path / "ce")), negatives=2,
        keep_top=100, max_new_tokens=8,
        train=TrainConfig(loss="margin-mse", max_steps=3, batch_size=4, lora=False, max_length=32, warmup_ratio=0.0,
                          patience=None),
        teacher=RerankerConfig(max_steps=2, batch_size=4, group_size=3, max_length=32),
    )
    return AdaptConfig(**{**base, **changes})  # type: ignore[arg-type]


def test_adapt_runs_every_step_and_resumes_from_its_work_folder(backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    search, _, _ = backend
    config = _config(tmp_path)
    work, out = tmp_path / "work", tmp_path / "adapted"
    report = adapt(search, "s", out, config, work=work, device="cpu", quiet=True)

    assert list(report.steps) == ["queries", "teacher", "labels", "encoder"]
    queries = report.steps["queries"]
    assert queries["title_pairs"] == 16 and queries["written_for"] == 12
    assert queries["examples"] == report.steps["labels"]["examples"] >= 16
    records = [json.loads(line) for line in (work / LABELLED_FILE).read_text().splitlines()]
    assert all(r["negatives"] and r["positives"][0]["id"] not in {n["id"] for n in r["negatives"]} for r in records)
    # Every passage carries the teacher's own score for it.
    teacher = load_reranker(str(work / TEACHER_DIR), device="cpu")
    first = records[0]
    passages = first["positives"] + first["negatives"]
    expected = teacher.score(first["query"], [passage_text(p.get("title") or "", p["text"]) for p in passages])
    assert np.allclose([p["teacher_score"] for p in passages], expected, atol=1e-3)
    # The adapted encoder was trained by margin distillation and loads like any encoder.
    training = json.loads((out / "training.json").read_text())
    assert training["config"]["loss"] == "margin-mse" and training["steps"] == 3
    assert load_encoder(str(out), device="cpu").encode_queries(["statins"]).shape[0] == 1

    stamps = {f: (work / f).stat().st_mtime_ns for f in (QUERIES_FILE, LABELLED_FILE)}
    again = adapt(search, "s", out, config, work=work, device="cpu", quiet=True)
    assert again.steps == report.steps
    assert {f: (work / f).stat().st_mtime_ns for f in stamps} == stamps

    # Another learning rate: the same labels, the encoder trained again from the base.
    config = _config(tmp_path, train=dataclasses.replace(config.train, learning_rate=1e-3))
    relearnt = adapt(search, "s", out, config, work=work, device="cpu", quiet=True)
    assert {f: (work / f).stat().st_mtime_ns for f in stamps} == stamps
    assert relearnt.steps["labels"] == report.steps["labels"]
    assert json.loads((out / "training.json").read_text())["config"]["learning_rate"] == 1e-3
    # Other mining settings: every step again.
    adapt(search, "s", out, _config(tmp_path, negatives=3), work=work, device="cpu", quiet=True)
    assert (work / QUERIES_FILE).stat().st_mtime_ns != stamps[QUERIES_FILE]
    assert all(len(json.loads(line)["negatives"]) <= 3 for line in (work / LABELLED_FILE).read_text().splitlines())


def test_a_given_teacher_is_used_as_is(backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    search, _, _ = backend
    teacher = save_tiny_cross_encoder(tmp_path / "teacher", seed=3)
    config = _config(tmp_path, passages=0, reranker=str(teacher))
    report = adapt(search, "s", tmp_path / "adapted", config, work=tmp_path / "work", device="cpu", quiet=True)
    assert list(report.steps) == ["queries", "labels", "encoder"] and not (tmp_path / "work" / TEACHER_DIR).exists()
    state = json.loads((tmp_path / "work" / STATE_FILE).read_text())
    labels = state["steps"]["labels"]["settings"]
    assert labels["reranker"] == str(teacher) and labels["index"] == "s" and not state["started"]


def test_negatives_the_teacher_scores_within_the_margin_of_the_positive_are_dropped() -> None:
    def scored(pid: str, score: float) -> Passage:
        return Passage(pid, pid, teacher_score=score)

    example = TrainingExample("q", "query", None, (scored("p1", 5.0), scored("p2", 3.0)),
                              (scored("n1", 4.5), scored("n2", 4.0), scored("n3", 3.9), scored("n4", 7.0)))
    [kept], dropped, vague = trusted_negatives([example], 1.0)
    # the best positive (5.0) sets the bar: 4.5, 4.0 (exactly 1 below) and 7.0 go, 3.9 stays
    assert [n.id for n in kept.negatives] == ["n3"] and (dropped, vague) == (3, 0)
    assert kept.positives == example.positives
    assert trusted_negatives([example], 0.0)[1] == 1  # only the negative scored above the positive
    # a margin no negative clears: the example goes whole; one mined without negatives stays
    bare = dataclasses.replace(example, query_id="bare", negatives=())
    assert trusted_negatives([example, bare], 3.0) == ([bare], 4, 1)


def test_infonce_trains_on_trusted_negatives_and_a_new_margin_retrains_only_the_encoder(backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    search, _, _ = backend
    teacher = save_tiny_cross_encoder(tmp_path / "teacher", seed=3)
    infonce = TrainConfig(loss="infonce", max_steps=2, batch_size=4, lora=False, max_length=32, warmup_ratio=0.0,
                          patience=None)
    config = _config(tmp_path, passages=0, reranker=str(teacher), train=infonce, false_negative_margin=0.0)
    work, out = tmp_path / "work", tmp_path / "adapted"
    report = adapt(search, "s", out, config, work=work, device="cpu", quiet=True)
    records = [json.loads(line) for line in (work / LABELLED_FILE).read_text().splitlines()]
    doubted = [[n["teacher_score"] >= max(p["teacher_score"] for p in r["positives"]) for n in r["negatives"]]
               for r in records]
    encoder = report.steps["encoder"]
    assert encoder["loss"] == "infonce" and encoder["negatives_dropped"] == sum(map(sum, doubted))
    assert encoder["examples_dropped"] == sum(all(d) for d in doubted)
    assert 0 < encoder["negatives_dropped"] < sum(map(len, doubted))  # the filter kept some and dropped some
    assert json.loads((out / "training.json").read_text())["config"]["loss"] == "infonce"
    stamp = (work / LABELLED_FILE).stat().st_mtime_ns
    trusting = adapt(search, "s", out, dataclasses.replace(config, false_negative_margin=-1e6), work=work,
                     device="cpu", quiet=True)
    assert (work / LABELLED_FILE).stat().st_mtime_ns == stamp
    assert (trusting.steps["encoder"]["negatives_dropped"], trusting.steps["encoder"]["examples_dropped"]) == (0, 0)
    with pytest.raises(TrainingDataError, match="no example is left"):
        adapt(search, "s", out, dataclasses.replace(config, false_negative_margin=1e6), work=work, device="cpu",
              quiet=True)


def test_nothing_to_learn_from_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to learn"):
        AdaptConfig(passages=0, title_pairs=0)


def test_cli_refuses_nothing_to_learn_and_a_missing_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "adapted")
    assert main(["adapt", "--out", out, "--passages", "0", "--embedded-dir", str(tmp_path / "idx")]) == 2
    assert "nothing to learn" in capsys.readouterr().err
    assert main(["adapt", "--index", "absent", "--out", out, "--embedded", "--embedded-dir", str(tmp_path / "idx")]) == 3
    assert "absent" in capsys.readouterr().err
