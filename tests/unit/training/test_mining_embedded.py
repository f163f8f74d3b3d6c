"""Mining on the embedded index built from the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.data import sample_dir
from hybrid.evaluation import load_split
from tests.unit.training.mining_checks import check_examples
from training.mining import MiningConfig, MiningReport, mine


def test_negatives_exclude_positives_and_respect_the_window(backend) -> None:  # type: ignore[no-untyped-def]
    search, _, dropped = backend
    queries, qrels = load_split(sample_dir(), "dev")
    config = MiningConfig(depth=30, skip=3, negatives=4, seed=7)
    report = MiningReport()
    examples = list(mine(search, queries, qrels, config, instruction="scifact", report=report))
    runs = dict(zip(sorted(qrels), search.lexical_many([queries[q] for q in sorted(qrels)], 30)))
    check_examples(examples, qrels, runs, skip=3, depth=30, negatives=4)
    assert all(ex["instruction"] == "scifact" for ex in examples)
    assert report.examples == len(examples) == len(qrels) - len(report.without_positives)
    reported = {d for missing in report.missing_documents.values() for d in missing}
    assert reported == dropped  # judged but not in the index: reported, not silently dropped


def test_mining_is_deterministic_given_a_seed(backend) -> None:  # type: ignore[no-untyped-def]
    search, _, dropped = backend
    queries, qrels = load_split(sample_dir(), "dev")
    first = list(mine(search, queries, qrels, MiningConfig(depth=30, negatives=3, seed=1)))
    again = list(mine(search, queries, qrels, MiningConfig(depth=30, negatives=3, seed=1)))
    other = list(mine(search, queries, qrels, MiningConfig(depth=30, negatives=3, seed=2)))
    assert first == again and first != other


def test_false_negative_guard_drops_close_candidates(backend) -> None:  # type: ignore[no-untyped-def]
    search, encoder, _ = backend
    queries, qrels = load_split(sample_dir(), "dev")
    report = MiningReport()
    guarded = list(mine(search, queries, qrels, MiningConfig(depth=30, negatives=30, margin=1e9), encoder=encoder,
                        report=report))
    # A huge margin puts every candidate "within reach" of the positives: all are dropped.
    assert report.guarded > 0 and all(not ex["negatives"] for ex in guarded)
    with pytest.raises(ValueError, match="needs an encoder"):
        list(mine(search, queries, qrels, MiningConfig(margin=0.1)))


def test_cli_writes_jsonl(backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import json

    from hybrid.cli import main

    search, _, dropped = backend
    out = tmp_path / "mined.jsonl"
    root = search.generation.folder.parent.parent
    assert main(["mine", "--dataset", "sample", "--split", "dev", "--index", "s", "--embedded", "--embedded-dir",
                 str(root), "--out", str(out), "--depth", "20", "--negatives", "2"]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines and all(len(x["negatives"]) <= 2 for x in lines)
    assert "judged documents missing from the index" in capsys.readouterr().out
