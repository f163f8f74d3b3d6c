"""The embedded index's row → document id column: fixed-width UTF-8 in a memory-mapped ``.npy``, in id
order (SQLite's byte order, which is numpy's), so an id's row is a binary search and nothing is loaded."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import overload

import numpy as np

from hybrid.backends.embedded.npy import NpyFile

IDS = "ids.npy"
LEGACY_IDS = "ids.json"  # indices built before the column was memory-mapped


class IdWriter:
    """Streams ids to a text file, then writes the fixed-width column (its width is known at the end)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._text = (folder / f"{IDS}.txt").open("w", encoding="utf-8")
        self._width = 1
        self.count = 0

    def add(self, doc_id: str) -> None:
        self._text.write(json.dumps(doc_id) + "\n")  # JSON: an id may hold a newline
        self._width = max(self._width, len(doc_id.encode("utf-8")))
        self.count += 1

    def finish(self) -> None:
        self._text.close()
        column = NpyFile.create(self.folder / f"{IDS}.tmp", f"S{self._width}", (self.count,))
        with (self.folder / f"{IDS}.txt").open(encoding="utf-8") as lines:
            row = 0
            while block := [json.loads(line).encode("utf-8") for line in islice(lines, 65_536)]:
                column.rows(row, len(block), "r+")[:] = block
                row += len(block)
        column.path.replace(self.folder / IDS)
        (self.folder / f"{IDS}.txt").unlink()
        (self.folder / LEGACY_IDS).unlink(missing_ok=True)


class IdColumn(Sequence[str]):
    def __init__(self, folder: Path) -> None:
        self._column: np.ndarray | None = None
        self._legacy: list[str] | None = None
        if (folder / IDS).is_file():
            self._column = np.load(folder / IDS, mmap_mode="r")
        else:
            self._legacy = json.loads((folder / LEGACY_IDS).read_text())

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        """A legacy column's id → row (built on the first lookup, as facets need it)."""
        return {doc_id: row for row, doc_id in enumerate(self._legacy or [])}

    @staticmethod
    def exists(folder: Path) -> bool:
        return (folder / IDS).is_file() or (folder / LEGACY_IDS).is_file()

    def __len__(self) -> int:
        return len(self._column) if self._column is not None else len(self._legacy or [])

    @overload
    def __getitem__(self, row: int) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...

    def __getitem__(self, row: int | slice) -> str | list[str]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        if self._legacy is not None:
            return self._legacy[row]
        return bytes(self._column[row]).decode("utf-8")  # type: ignore[index]

    def row_of(self, doc_id: str) -> int | None:
        if self._legacy is not None:
            return self._positions.get(doc_id)
        key = doc_id.encode("utf-8")
        row = int(np.searchsorted(self._column, key))  # type: ignore[arg-type]
        return row if row < len(self) and bytes(self._column[row]) == key else None  # type: ignore[index]
