"""Mining on the embedded index built from the bundled sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybrid.data import sample_dir
from hybrid.evaluation import load_split
from hybrid.recipes import passage_text
from hybrid.training.mining import MiningConfig, MiningReport, bm25_lists, mine
from tests.unit.training.mining_checks import check_examples


def test_negatives_exclude_positives_and_respect_the_window(backend) -> None:  # type: ignore[no-untyped-def]
    search, _, dropped = backend
    queries, qrels = load_split(sample_dir(), "dev")
    config = MiningConfig(depth=30, skip=3, negatives=4, seed=7)
    report = MiningReport()
    examples = list(mine(search, queries, qrels, config, instruction="scifact", report=report))
    runs = dict(zip(sorted(qrels), bm25_lists(search, [queries[q] for q in sorted(qrels)], 30)))
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


def _guard_margins(search, encoder, queries, qrels, depth: int, skip: int):  # type: ignore[no-untyped-def]
    """Per query: each candidate's distance below the weakest positive, ``min(positive scores) - score``,
    from the definition (dense scores of the query against the passages, as the encoder scores them)."""
    lists = dict(zip(sorted(qrels), bm25_lists(search, [queries[q] for q in sorted(qrels)], depth)))
    out = {}
    for qid, ranked in lists.items():
        judged = {d for d, rel in qrels[qid].items() if rel > 0}
        stored = search.fetch(sorted(judged | {d for d, _ in ranked}))
        positives = [d for d in sorted(judged) if d in stored]
        candidates = [d for rank, (d, _) in enumerate(ranked, start=1) if rank > skip and d not in judged]
        if not positives or not candidates:
            continue
        q = encoder.encode_queries([queries[qid]])
        texts = [passage_text(stored[d].title, stored[d].text) for d in positives + candidates]
        scores = encoder.score(q, encoder.encode_passages(texts))[0]
        weakest = float(np.min(scores[: len(positives)]))
        out[qid] = {d: weakest - float(s) for d, s in zip(candidates, scores[len(positives):])}
    return out


def test_false_negative_guard_keeps_exactly_the_candidates_below_the_margin(backend) -> None:  # type: ignore[no-untyped-def]
    search, encoder, _ = backend
    queries, qrels = load_split(sample_dir(), "dev")
    below = _guard_margins(search, encoder, queries, qrels, depth=30, skip=2)
    gaps = sorted({gap for per_query in below.values() for gap in per_query.values()})
    middle = len(gaps) // 2
    margin = (gaps[middle - 1] + gaps[middle]) / 2  # halfway between two candidates: none sits on the boundary
    report = MiningReport()
    mined = {ex["query_id"]: ex for ex in mine(search, queries, qrels, MiningConfig(depth=30, negatives=30, margin=margin),
                                               encoder=encoder, report=report)}
    kept_total = dropped_total = 0
    for qid, gaps in below.items():
        expected = sorted(d for d, gap in gaps.items() if gap > margin)  # score < weakest positive - margin
        assert sorted(n["id"] for n in mined[qid]["negatives"]) == expected, qid
        kept_total += len(expected)
        dropped_total += len(gaps) - len(expected)
    assert kept_total > 0 and dropped_total > 0 and report.guarded == dropped_total
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
