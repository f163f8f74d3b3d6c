from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.local_opensearch.java import JavaNotFoundError, find_java, java_major


def _fake_jdk(root: Path, version_line: str) -> Path:
    """A JDK home whose bin/java prints ``version_line`` like `java -version` does (on stderr)."""
    exe = root / "bin" / "java"
    exe.parent.mkdir(parents=True)
    exe.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    exe.chmod(0o755)
    return root


def test_reads_major_versions(tmp_path: Path) -> None:
    assert java_major(_fake_jdk(tmp_path / "a", 'openjdk version "17.0.15" 2025-04-15')) == 17
    assert java_major(_fake_jdk(tmp_path / "b", 'java version "1.8.0_392"')) == 8
    assert java_major(_fake_jdk(tmp_path / "c", 'openjdk version "25" 2025-09-16')) == 25
    assert java_major(tmp_path / "missing") is None


def test_skips_unsupported_java_for_a_supported_one(tmp_path: Path) -> None:
    too_new = _fake_jdk(tmp_path / "jvm" / "jdk-25", 'openjdk version "25"')
    good = _fake_jdk(tmp_path / "jvm" / "jdk-21", 'openjdk version "21.0.2"')
    found = find_java(env={"JAVA_HOME": str(too_new), "PATH": ""}, search_dirs=[tmp_path / "jvm"])
    assert found.home == good and found.major == 21


def test_no_java_anywhere_names_what_was_tried(tmp_path: Path) -> None:
    old = _fake_jdk(tmp_path / "old", 'java version "1.8.0_392"')
    with pytest.raises(JavaNotFoundError) as err:
        find_java(env={"JAVA_HOME": str(old), "PATH": ""}, search_dirs=[])
    message = str(err.value)
    assert "needs Java 11/17/21" in message and f"{old} (Java 8)" in message and "OPENSEARCH_JAVA_HOME" in message


def test_explicit_java_home_is_not_second_guessed(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match="holds no java"):
        find_java(tmp_path)


def test_finds_the_machine_java() -> None:
    assert find_java().major in (11, 17, 21)
