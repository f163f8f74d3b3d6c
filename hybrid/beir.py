"""Readers for datasets in BEIR layout: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class BeirDocument:
    id: str
    title: str
    text: str


def iter_corpus(folder: Path) -> Iterator[BeirDocument]:
    """Stream ``corpus.jsonl`` (constant memory)."""
    with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                yield BeirDocument(str(row["_id"]), row.get("title") or "", row.get("text") or "")


def load_queries(folder: Path) -> dict[str, str]:
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        return {str(row["_id"]): row["text"] for row in map(json.loads, filter(str.strip, fh))}


def load_qrels(folder: Path, split: str) -> Qrels:
    """``{query_id: {doc_id: relevance}}`` from ``qrels/<split>.tsv`` (header line skipped)."""
    path = folder / "qrels" / f"{split}.tsv"
    if not path.is_file():
        available = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise FileNotFoundError(f"no qrels for split {split!r} at {path}; available: {available or 'none'}")
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header and header[-1].strip().isdigit():  # a file without a header line
            qrels.setdefault(header[0], {})[header[1]] = int(header[2])
        for row in reader:
            if len(row) >= 3:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels
