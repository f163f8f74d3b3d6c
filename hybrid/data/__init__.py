"""Data shipped with the package: a SciFact sample for the quickstart (CC BY-NC 2.0, see its README)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_NAME = "sample"


def sample_dir() -> Path:
    """Folder of the SciFact sample in BEIR layout (corpus.jsonl, queries.jsonl, qrels/dev.tsv)."""
    return Path(str(resources.files("hybrid.data").joinpath("scifact_sample")))


def data_path(name: str) -> Path:
    """A path given on the command line, where ``sample`` means the bundled SciFact sample."""
    return sample_dir() if name == SAMPLE_NAME else Path(name)
