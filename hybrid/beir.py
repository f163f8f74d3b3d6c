"""Readers for datasets in BEIR layout: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.

Collections come from many hands, so the readers take what BEIR's own loader takes and a little more:
a byte-order mark, ids written as numbers, a missing or null title, qrels with or without their header
line and in TREC's four columns (``query-id 0 corpus-id score``). What they cannot read is refused with
the file and line (:class:`DatasetError`), never guessed at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Qrels = dict[str, dict[str, int]]


class DatasetError(ValueError):
    """A dataset file that cannot be read as BEIR layout; the message names the file and line."""


@dataclass(frozen=True)
class BeirDocument:
    id: str
    title: str
    text: str


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSONL file that has every ``required`` key."""
    with path.open(encoding="utf-8-sig") as fh:  # -sig: a leading byte-order mark is not part of line 1
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not a JSON object ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{number}: not a JSON object (a {type(row).__name__})")
            missing = [key for key in required if row.get(key) is None]
            if missing:
                raise DatasetError(f"{path}:{number}: no {', '.join(repr(k) for k in missing)}")
            yield number, row


def iter_corpus(folder: Path) -> Iterator[BeirDocument]:
    """Stream ``corpus.jsonl`` (constant memory)."""
    for _, row in _rows(folder / "corpus.jsonl", ("_id",)):
        yield BeirDocument(str(row["_id"]), str(row.get("title") or ""), str(row.get("text") or ""))


def load_queries(folder: Path) -> dict[str, str]:
    return {str(row["_id"]): str(row["text"]) for _, row in _rows(folder / "queries.jsonl", ("_id", "text"))}


def _judgement(line: str) -> tuple[str, str, str] | None:
    """``(query id, doc id, score)`` of a qrels line: BEIR's three tab-separated columns or TREC's four
    (TREC's files separate them by spaces); None for a blank line."""
    cells = [cell.strip() for cell in line.split("\t")] if "\t" in line else line.split()
    if not any(cells):
        return None
    if len(cells) == 3:
        return cells[0], cells[1], cells[2]
    if len(cells) == 4:  # TREC: query-id, iteration (unused), corpus-id, score
        return cells[0], cells[2], cells[3]
    raise ValueError(f"{len(cells)} columns (expected query-id, corpus-id, score)")


def _is_score(cell: str) -> bool:
    return cell.lstrip("+-").isdigit()


def load_qrels(folder: Path, split: str) -> Qrels:
    """``{query_id: {doc_id: relevance}}`` from ``qrels/<split>.tsv`` (a header line skipped)."""
    path = folder / "qrels" / f"{split}.tsv"
    if not path.is_file():
        available = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").is_dir() else []
        raise FileNotFoundError(f"no qrels for split {split!r} at {path}; available: {available or 'none'}")
    qrels: Qrels = {}
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                judgement = _judgement(line)
            except ValueError as exc:
                raise DatasetError(f"{path}:{number}: {exc}") from None
            if judgement is None:
                continue
            qid, did, score = judgement
            if not _is_score(score):
                if number == 1:  # the header line (query-id, corpus-id, score)
                    continue
                raise DatasetError(f"{path}:{number}: relevance {score!r} is not a whole number")
            qrels.setdefault(qid, {})[did] = int(score)
    if not qrels:
        raise DatasetError(f"{path}: no judgements")
    return qrels
