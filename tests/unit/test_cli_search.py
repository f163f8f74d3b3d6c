"""The CLI end to end on the embedded backend: ingest the sample, search it, evaluate it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    rejects = root / "rejects.jsonl"
    assert main(["ingest", "sample", "--index", "demo", "--embedded", "--embedded-dir", str(root), "--limit", "120",
                 "--quiet", "--rejects", str(rejects)]) == 0
    return root


def _flags(root: Path) -> list[str]:
    return ["--index", "demo", "--embedded", "--embedded-dir", str(root)]


def test_search_json_has_explain_fields(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["search", "statin therapy and cholesterol", *_flags(demo), "--json", "--k", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "hybrid" and len(out["hits"]) == 5
    first = out["hits"][0]
    assert {"doc_id", "score", "rank", "found_by", "bm25_rank", "dense_rank", "title", "text"} <= set(first)
    assert [h["rank"] for h in out["hits"]] == [1, 2, 3, 4, 5]


def test_search_table_and_modes(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("bm25", "dense", "hybrid"):
        assert main(["search", "BRCA1 mutations in breast cancer", *_flags(demo), "--mode", mode, "--explain"]) == 0
        table = capsys.readouterr().out
        assert f"{mode} search on 'demo'" in table and "bm25 rank" in table


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", " "], "the query is empty"),
        (["search", "q", "--k", "0"], "out of range 1..1000"),
        (["search", "q", "--filter", "year>=2015"], "unknown filter field 'year'"),
        (["search", "q", "--index", "nope"], "no embedded index 'nope'"),
    ],
)
def test_search_errors(demo: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    flags = _flags(demo)
    if "--index" in argv:
        flags = flags[2:]
    assert main([*argv, *flags]) == 2
    assert message in capsys.readouterr().err


def test_eval_writes_table_json_and_chart(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, chart = tmp_path / "eval.json", tmp_path / "eval.png"
    assert main(["eval", "--dataset", "sample", "--split", "dev", *_flags(demo), "--out", str(out),
                 "--chart", str(chart), "--sweep"]) == 0
    data = json.loads(out.read_text())
    assert set(data["metrics"]) == {"bm25", "dense", "hybrid"}
    assert set(data["metrics"]["hybrid"]) == {"nDCG@10", "R@100", "RR@10", "AP"}
    assert data["queries"] == 60 and len(data["sweep"]) == 10
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "best fusion on dev" in capsys.readouterr().out
