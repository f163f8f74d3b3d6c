"""Progress: a bar with rate and ETA where a person watches (a terminal), nothing in pipes and JSON."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from hybrid.cli import main
from hybrid.progress import on_terminal, progress, track


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_rate_and_eta_and_a_pipe_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert on_terminal() and not on_terminal(json_output=True)
    assert list(track(range(5), 5, "mine", "example", enabled=on_terminal())) == [0, 1, 2, 3, 4]
    shown = terminal.getvalue()
    assert "mine" in shown and "5/5" in shown and "example/s" in shown
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    assert not on_terminal()
    bar = progress(3, "eval", "query", enabled=on_terminal())
    bar.update(3)
    bar.close()
    assert pipe.getvalue() == ""


def test_evaluation_reports_queries_per_second_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "sample", "--index", "p", "--embedded", "--embedded-dir", str(tmp_path), "--limit", "30",
                 "--quiet", "--rejects", str(tmp_path / "r.jsonl")]) == 0
    capsys.readouterr()
    assert main(["eval", "--dataset", "sample", "--split", "dev", "--index", "p", "--embedded", "--embedded-dir",
                 str(tmp_path), "--out", str(tmp_path / "e.json"), "--chart", str(tmp_path / "e.png")]) == 0
    assert "query/s" not in capsys.readouterr().err  # captured: not a terminal
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["eval", "--dataset", "sample", "--split", "dev", "--index", "p", "--embedded", "--embedded-dir",
                 str(tmp_path), "--out", str(tmp_path / "e.json"), "--chart", str(tmp_path / "e.png")]) == 0
    shown = terminal.getvalue()
    assert "eval" in shown and "query/s" in shown and "60/60" in shown  # the sample's 60 dev claims
