from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.settings import load_settings


def test_precedence_flag_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hybrid.toml"
    config.write_text('opensearch_url = "http://127.0.0.1:1"\nopensearch_timeout_s = 5.0\n')
    assert load_settings(config).opensearch_url == "http://127.0.0.1:1"
    monkeypatch.setenv("HYBRID_OPENSEARCH_URL", "http://127.0.0.1:2")
    settings = load_settings(config)
    assert settings.opensearch_url == "http://127.0.0.1:2" and settings.opensearch_timeout_s == 5.0
    assert load_settings(config, opensearch_url="http://127.0.0.1:3").opensearch_url == "http://127.0.0.1:3"


def test_config_from_env_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('opensearch_user = "reader"\n')
    monkeypatch.setenv("HYBRID_CONFIG", str(config))
    assert load_settings().opensearch_user == "reader"


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('opensearch_ulr = "x"\n')
    with pytest.raises(ValueError, match="opensearch_ulr"):
        load_settings(config)


def test_password_is_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRID_OPENSEARCH_PASSWORD", "s3cret")
    settings = load_settings()
    assert "s3cret" not in repr(settings)
    assert settings.opensearch_password is not None and settings.opensearch_password.get_secret_value() == "s3cret"
