"""The rejects file: one JSON line per record that was not ingested, with its reason and position."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import IO

from hybrid.documents import Reject


class RejectsWriter:
    """Appends rejects to ``path``; the file is created on the first reject (none: no file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh: IO[str] | None = None

    def write(self, reject: Reject) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
        self._fh.write(json.dumps(asdict(reject), ensure_ascii=False) + "\n")
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
