"""The ids one ingest run has accepted, kept on disk so memory stays flat at any corpus size.

An in-memory set costs ~100 bytes per id (3.5 GB for PubMed's 36M abstracts). Here the ids live in a
scratch SQLite table (one B-tree keyed by id) under the temporary folder (``TMPDIR``), with an 8 MiB
page cache; the file is deleted when the run ends. Durability is off on purpose: the table is thrown
away after the run, and a crash loses nothing the index does not already say (resume asks the index).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

PAGE_CACHE_KIB = 8192


class SeenIds:
    def __init__(self, folder: Path | None = None) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="hybrid-ingest-ids-", dir=folder)
        self._db = sqlite3.connect(Path(self._folder.name) / "ids.sqlite", isolation_level=None,
                                   check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{PAGE_CACHE_KIB}", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE ids (id TEXT PRIMARY KEY) WITHOUT ROWID")
        self._db.execute("BEGIN")  # one transaction for the run: nothing here needs to survive it
        self.count = 0

    def add(self, doc_id: str) -> bool:
        """Remember ``doc_id``; False when it was already there (a duplicate)."""
        added = self._db.execute("INSERT OR IGNORE INTO ids VALUES (?)", (doc_id,)).rowcount == 1
        self.count += added
        return added

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()
