"""The bundled sample ingested by the real CLI into an embedded folder: the index CLI-level tests search."""

from __future__ import annotations

from pathlib import Path

from hybrid.cli import main


def cli_sample_index(root: Path, limit: int, index: str = "demo") -> Path:
    """``hybrid ingest sample`` (its first ``limit`` documents) into ``root``; returns ``root``."""
    assert main(["ingest", "sample", "--index", index, "--embedded", "--embedded-dir", str(root), "--limit", str(limit),
                 "--quiet", "--rejects", str(root / "rejects.jsonl")]) == 0
    return root
