"""The training JSONL: what is accepted, and the errors that stop a run before it starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.training.examples import TrainingDataError, example_record, read_examples, write_examples


def _write(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_round_trip_joins_title_and_text_like_beir(tmp_path: Path) -> None:
    record = example_record("q1", "statins lower LDL", "scifact",
                            [{"id": "d1", "title": "Statins", "text": "They lower LDL."}],
                            [{"id": "d2", "title": "", "text": "Unrelated.", "bm25_rank": 4, "bm25_score": 3.2}])
    write_examples(tmp_path / "a.jsonl", iter([record]))
    [ex] = read_examples([tmp_path / "a.jsonl"])
    assert ex.query == "statins lower LDL" and ex.instruction == "scifact"
    assert [(p.id, p.text) for p in ex.positives] == [("d1", "Statins They lower LDL.")]
    assert [(p.id, p.text) for p in ex.negatives] == [("d2", "Unrelated.")]


def test_negatives_are_optional(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", [{"query": "q", "positives": [{"id": "d", "text": "t"}]}])
    [ex] = read_examples([path])
    assert ex.negatives == () and ex.instruction is None


@pytest.mark.parametrize(("record", "message"), [
    ({"query": "q", "positives": []}, "has no positives"),
    ({"query": "q"}, "'positives' must be a list"),
    ({"query": "", "positives": [{"text": "t"}]}, "'query' must be a non-empty string"),
    ({"query": "q", "positives": [{"id": "d", "text": " "}]}, "positives[0] needs a non-empty 'text'"),
    ({"query": "q", "positives": [{"text": "t"}], "instruction": 3}, "'instruction' must be a string"),
    ("{not json", "not JSON"),
])
def test_bad_lines_name_file_and_line(tmp_path: Path, record: object, message: str) -> None:
    good = {"query": "q", "positives": [{"id": "d", "text": "t"}]}
    path = _write(tmp_path / "bad.jsonl", [good, record])
    with pytest.raises(TrainingDataError) as err:
        read_examples([path])
    assert f"{path}:2" in str(err.value) and message in str(err.value)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="no such training file"):
        read_examples([tmp_path / "nope.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(TrainingDataError, match="no training examples"):
        read_examples([tmp_path / "empty.jsonl"])
