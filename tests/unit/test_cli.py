from __future__ import annotations

import pytest

from hybrid.cli import PLANNED, build_parser, main


@pytest.mark.parametrize("command", sorted(PLANNED))
def test_planned_commands_say_not_yet_available(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command]) == 2
    assert "not yet available" in capsys.readouterr().err


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
