"""Find a Java runtime that the OpenSearch 2.x node can run on (11, 17 or 21)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hybrid.local_opensearch.errors import JavaNotFoundError

SUPPORTED_MAJORS: tuple[int, ...] = (11, 17, 21)
JVM_DIRS: tuple[Path, ...] = (Path("/usr/lib/jvm"), Path("/usr/java"), Path("/opt/java"))
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


@dataclass(frozen=True)
class JavaRuntime:
    home: Path
    major: int

    @property
    def executable(self) -> Path:
        return self.home / "bin" / "java"


def java_major(home: Path) -> int | None:
    """Major version of the JDK/JRE at ``home``, or None when there is no working ``bin/java``."""
    exe = home / "bin" / "java"
    if not exe.is_file():
        return None
    try:
        proc = subprocess.run([str(exe), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(proc.stderr + proc.stdout)
    if not match:
        return None
    first = int(match.group(1))
    # Java 8 and older report "1.8.0_x".
    return int(match.group(2)) if first == 1 and match.group(2) else first


def _candidates(env: Mapping[str, str], search_dirs: Iterable[Path]) -> list[Path]:
    homes: list[Path] = []
    for var in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        if env.get(var):
            homes.append(Path(env[var]))
    on_path = shutil.which("java", path=env.get("PATH", ""))
    if on_path:
        homes.append(Path(on_path).resolve().parent.parent)
    for root in search_dirs:
        if root.is_dir():
            homes.extend(sorted(p for p in root.iterdir() if p.is_dir()))
    unique: list[Path] = []
    for home in homes:
        if home.resolve() not in {h.resolve() for h in unique}:
            unique.append(home)
    return unique


def find_java(
    java_home: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    search_dirs: Iterable[Path] = JVM_DIRS,
) -> JavaRuntime:
    """Pick a supported Java runtime.

    Args:
        java_home: an explicit choice; used as is, or refused when unsuitable (no fallback).
        env: environment to read ``OPENSEARCH_JAVA_HOME``, ``JAVA_HOME`` and ``PATH`` from.
        search_dirs: folders whose sub-folders are JDK homes (``/usr/lib/jvm`` on Debian).

    Raises:
        JavaNotFoundError: naming every place that was tried and what it held.
    """
    wanted = "/".join(str(m) for m in SUPPORTED_MAJORS)
    if java_home is not None:
        major = java_major(java_home)
        if major in SUPPORTED_MAJORS:
            return JavaRuntime(java_home, major)
        found = "no java" if major is None else f"Java {major}"
        raise JavaNotFoundError(
            f"--java-home {java_home} holds {found}; OpenSearch 2.19 needs Java {wanted}."
        )
    tried: list[str] = []
    for home in _candidates(os.environ if env is None else env, search_dirs):
        major = java_major(home)
        if major in SUPPORTED_MAJORS:
            return JavaRuntime(home, major)
        tried.append(f"{home} ({'no java' if major is None else f'Java {major}'})")
    raise JavaNotFoundError(
        f"No suitable Java found: OpenSearch 2.19 needs Java {wanted}. "
        f"Tried: {', '.join(tried) or 'nothing (no JAVA_HOME, no java on PATH, no JDK folders)'}. "
        "Install one (Debian: apt-get install openjdk-17-jre-headless) or set OPENSEARCH_JAVA_HOME."
    )
