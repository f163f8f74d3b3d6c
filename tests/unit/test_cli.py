from __future__ import annotations

import pytest

from hybrid.cli import build_parser, main


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0
    assert "opensearch" in commands


def test_status_of_an_unknown_instance(capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HYBRID_OPENSEARCH_HOME", str(tmp_path))
    assert main(["opensearch", "status", "--name", "nobody-here"]) == 3
    assert "stopped" in capsys.readouterr().out
