"""The embedded index on disk: documents and vectors in SQLite, BM25 built with bm25s.

Layout of ``<root>/<name>/``::

    CURRENT            name of the generation the index name points at (the "alias")
    gen-<timestamp>/   one generation: store.sqlite, plus bm25/ and vectors.npy once finished

SQLite (WAL) commits each written batch, so a killed ingest keeps everything it committed and a
rerun resumes. A re-ingest writes a new generation and swaps CURRENT with an atomic rename.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from hybrid.backends.base import IndexNotFoundError, check_index_name, is_index_name
from hybrid.documents import Document
from hybrid.index_meta import IndexMeta
from hybrid.passages import DocumentVectors

CURRENT = "CURRENT"
STORE = "store.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages (id TEXT PRIMARY KEY, spans TEXT NOT NULL);
"""


class Generation:
    """One physical embedded index (thread-safe: the ingest writer thread and the reader share it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(folder / STORE, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def index_meta(self, name: str) -> IndexMeta:
        """The index's record, kept as one meta row per field of ``IndexMeta.to_block``."""
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        return IndexMeta.from_block({key: json.loads(value) for key, value in rows}, name)

    def set_index_meta(self, meta: IndexMeta) -> None:
        """Replace the record: a field the new record leaves out (e.g. a reset default fusion) goes."""
        rows = [(k, json.dumps(v)) for k, v in meta.to_block().items()]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM meta")
            self._db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                found.update(r[0] for r in self._db.execute(f"SELECT id FROM docs WHERE id IN ({marks})", chunk))
        return found

    def write(self, docs: Sequence[Document], vectors: Sequence[DocumentVectors]) -> None:
        """A document's passage vectors are one blob, its rows in text order; the spans of a document of
        more than one passage go to the passages table (a document without a row there is one passage)."""
        rows = [
            (d.id, d.title, d.text, json.dumps(d.metadata), np.asarray(v.vectors, dtype=np.float32).tobytes())
            for d, v in zip(docs, vectors)
        ]
        spans = [(d.id, json.dumps(v.spans)) for d, v in zip(docs, vectors) if len(v.spans) > 1]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO docs(id, title, text, metadata, vector) VALUES (?,?,?,?,?)", rows)
            self._db.executemany("DELETE FROM passages WHERE id = ?", [(d.id,) for d in docs])
            self._db.executemany("INSERT INTO passages(id, spans) VALUES (?, ?)", spans)
            self._db.execute("COMMIT")

    def vector_rows(self, dimension: int) -> int:
        """Passage vectors stored, over all documents."""
        with self._lock:
            total = self._db.execute("SELECT COALESCE(SUM(LENGTH(vector)), 0) FROM docs").fetchone()[0]
        return int(total) // (4 * dimension)

    def spans_of(self, doc_id: str) -> list[tuple[int, int]] | None:
        """The passage spans of a document split into several (None: one passage)."""
        with self._lock:
            row = self._db.execute("SELECT spans FROM passages WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else [tuple(s) for s in json.loads(row[0])]  # type: ignore[misc]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    def iter_rows(self) -> Iterator[tuple[str, str, str, str, bytes]]:
        """All documents in id order (a snapshot; the lock is held per page, not for the whole scan)."""
        last = ""
        while True:
            with self._lock:
                page = self._db.execute(
                    "SELECT id, title, text, metadata, vector FROM docs WHERE id > ? ORDER BY id LIMIT 2000", (last,)
                ).fetchall()
            if not page:
                return
            yield from page
            last = page[-1][0]

    def document(self, doc_id: str) -> tuple[str, str, dict[str, object]] | None:
        with self._lock:
            row = self._db.execute("SELECT title, text, metadata FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else (row[0], row[1], json.loads(row[2]))


class EmbeddedRoot:
    """Index names under one folder, each with generations and a CURRENT pointer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, name: str) -> Path:
        return self.root / check_index_name(name)

    def current(self, name: str) -> Path | None:
        pointer = self._dir(name) / CURRENT
        if not pointer.is_file():
            return None
        folder = self._dir(name) / pointer.read_text().strip()
        return folder if folder.is_dir() else None

    def names(self) -> list[str]:
        """Every index name with a current generation."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if (p / CURRENT).is_file() and is_index_name(p.name) and self.current(p.name))

    def require(self, name: str) -> Path:
        folder = self.current(name)
        if folder is None:
            raise IndexNotFoundError(f"no embedded index {name!r} under {self.root}; indices: {self.names() or 'none'}")
        return folder

    def new_generation(self, name: str) -> Path:
        folder = self._dir(name) / f"gen-{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S%f')}"
        folder.mkdir(parents=True)
        return folder

    def generations(self, name: str) -> list[Path]:
        base = self._dir(name)
        return sorted(p for p in base.glob("gen-*") if p.is_dir()) if base.is_dir() else []

    def point(self, name: str, generation: Path) -> None:
        """Atomically make ``name`` point at ``generation``."""
        tmp = self._dir(name) / f".{CURRENT}.tmp"
        tmp.write_text(generation.name)
        os.replace(tmp, self._dir(name) / CURRENT)

    def drop_generation(self, generation: Path) -> None:
        shutil.rmtree(generation, ignore_errors=True)

