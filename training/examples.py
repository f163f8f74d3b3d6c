"""Training examples: the JSONL that `hybrid mine`, `hybrid synth` and `hybrid pairs` write and `hybrid train` reads.

One JSON object per line::

    {"query_id": "...", "query": "...", "instruction": "..." | null,
     "positives": [{"id": "...", "title": "...", "text": "..."}, ...],      # at least one
     "negatives": [{"id": "...", "title": "...", "text": "...", ...}, ...]}  # may be empty

Extra keys on a negative (``bm25_rank``, ``bm25_score``) are kept in the file for inspection and
ignored by training. A passage's ``teacher_score`` (a cross-encoder's logit for the query and that
passage, written by `hybrid adapt`) is what margin distillation (``--loss margin-mse``) learns from.
Each example carries its own task instruction, so files of different tasks can be concatenated and
every query is still embedded with the instruction of its task (as biomedical instruction tuning
does, arXiv 2401.00579).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hybrid.recipes import passage_text
from hybrid.training.errors import TrainingDataError


@dataclass(frozen=True)
class Passage:
    id: str
    text: str  # title and text joined as BEIR documents are embedded
    teacher_score: float | None = None  # a cross-encoder's score for this passage and the example's query


@dataclass(frozen=True)
class TrainingExample:
    query_id: str
    query: str
    instruction: str | None
    positives: tuple[Passage, ...]
    negatives: tuple[Passage, ...]


def example_record(query_id: str, query: str, instruction: str | None, positives: Iterable[dict[str, object]],
                   negatives: Iterable[dict[str, object]] = ()) -> dict[str, object]:
    """One line of the format above (what the producers write)."""
    return {"query_id": query_id, "query": query, "instruction": instruction,
            "positives": list(positives), "negatives": list(negatives)}


def _passages(value: object, where: str, what: str) -> tuple[Passage, ...]:
    if not isinstance(value, list):
        raise TrainingDataError(f"{where}: '{what}' must be a list of {{id, title, text}} objects")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            raise TrainingDataError(f"{where}: {what}[{i}] needs a non-empty 'text'")
        title = item.get("title") or ""
        score = item.get("teacher_score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise TrainingDataError(f"{where}: {what}[{i}].teacher_score must be a number")
        out.append(Passage(str(item.get("id", f"{what}-{i}")), passage_text(str(title), item["text"]),
                           None if score is None else float(score)))
    return tuple(out)


def parse_example(record: object, where: str) -> TrainingExample:
    if not isinstance(record, dict):
        raise TrainingDataError(f"{where}: expected a JSON object")
    query = record.get("query")
    if not isinstance(query, str) or not query.strip():
        raise TrainingDataError(f"{where}: 'query' must be a non-empty string")
    instruction = record.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise TrainingDataError(f"{where}: 'instruction' must be a string or null")
    positives = _passages(record.get("positives"), where, "positives")
    if not positives:
        raise TrainingDataError(f"{where}: query {record.get('query_id')!r} has no positives; "
                                "every example needs at least one relevant passage")
    negatives = _passages(record.get("negatives", []), where, "negatives")
    return TrainingExample(str(record.get("query_id", where)), query, instruction, positives, negatives)


def read_examples(paths: Iterable[Path]) -> list[TrainingExample]:
    """All examples of the files, validated; the first bad line stops with its file and line number."""
    examples = []
    for path in paths:
        if not path.is_file():
            raise TrainingDataError(f"{path}: no such training file")
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{n}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TrainingDataError(f"{where}: not JSON ({exc.msg})") from exc
                examples.append(parse_example(record, where))
    if not examples:
        raise TrainingDataError("no training examples in " + ", ".join(str(p) for p in paths))
    return examples


def write_examples(path: Path, records: Iterator[dict[str, object]]) -> int:
    """Write records as JSONL; returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n
