"""A source file with one record of every bad kind, and what the rejects file must say about each."""

from __future__ import annotations

from pathlib import Path

GOOD_IDS = ["g1", "g2", "g3"]
LINES: list[bytes] = [
    b'{"id": "g1", "title": "Statins", "text": "Statins lower LDL cholesterol.", "year": "2019"}',
    b'{"id": "g2", "title": "", "text": "BRCA1 variants in founder populations.", "year": 2016}',
    b'{not json',
    b'{"title": "no id", "text": "has text"}',
    b'{"id": "g4", "title": "no text"}',
    b'{"id": "g1", "text": "a second g1"}',
    b'{"id": "g5", "text": "caf\xe9 in Latin-1"}',
    b'{"id": "g6", "text": "   "}',
    b'{"id": "g3", "text": "Mice on treadmills.", "year": 2020}',
]
# (line number, reason prefix, id)
EXPECTED_REJECTS = [
    (3, "invalid JSON", None),
    (4, "missing id", None),
    (5, "missing text", "g4"),
    (6, "duplicate id 'g1' within the input", "g1"),
    (7, "not UTF-8", None),
    (8, "empty text and no title", "g6"),
]


def write_bad_source(folder: Path) -> Path:
    path = folder / "mixed.jsonl"
    path.write_bytes(b"\n".join(LINES) + b"\n")
    return path
