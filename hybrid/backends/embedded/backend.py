"""``Backend`` for the embedded store: indices are folders under one root; the async side runs the
blocking search on worker threads (the work is numpy and SQLite, which release the GIL)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from hybrid.backends.base import IndexEntry
from hybrid.backends.embedded.search import EmbeddedSearch
from hybrid.backends.embedded.store import EmbeddedRoot, Generation
from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.index_meta import IndexMeta, IndexMetaError
from hybrid.retrieval.facets import FacetCounts, FacetQuery
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.types import SideQuery, StoredDocument


class ThreadedSearch:
    """The async protocol over an ``EmbeddedSearch`` opened on first use (a missing index fails then,
    inside the request, like on OpenSearch)."""

    def __init__(self, root: Path, index: str) -> None:
        self.root = root
        self.index = index
        self._search: EmbeddedSearch | None = None

    async def _opened(self) -> EmbeddedSearch:
        if self._search is None:
            self._search = await asyncio.to_thread(EmbeddedSearch, self.root, self.index)
        return self._search

    async def index_meta(self) -> IndexMeta:
        return (await self._opened()).index_meta()

    async def retrieve(self, queries: Sequence[SideQuery]) -> list[RankedList]:
        return await asyncio.to_thread((await self._opened()).retrieve, queries)

    async def fetch(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        return await asyncio.to_thread((await self._opened()).fetch, ids)

    async def fetch_page(self, ids: Sequence[str],
                         facets: FacetQuery | None) -> tuple[dict[str, StoredDocument], FacetCounts | None]:
        return await asyncio.to_thread((await self._opened()).fetch_page, ids, facets)

    async def count(self) -> int:
        return (await self._opened()).count()

    def close(self) -> None:
        if self._search is not None:
            self._search.close()


class EmbeddedBackend:
    kind = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._opened: list[EmbeddedSearch | ThreadedSearch] = []  # closed with the backend

    @property
    def description(self) -> str:
        return f"embedded ({self.root})"

    def search(self, index: str) -> EmbeddedSearch:
        search = EmbeddedSearch(self.root, index)
        self._opened.append(search)
        return search

    def async_search(self, index: str) -> ThreadedSearch:
        EmbeddedRoot(self.root).current(index)  # the name rule, checked now
        search = ThreadedSearch(self.root, index)
        self._opened.append(search)
        return search

    def ingest_target(self) -> EmbeddedTarget:
        return EmbeddedTarget(self.root)

    def update_record(self, index: str, changes: Mapping[str, object]) -> None:
        """Change fields of the index's record (the current generation's meta table)."""
        generation = Generation(EmbeddedRoot(self.root).require(index))
        try:
            generation.set_index_meta(dataclasses.replace(generation.index_meta(index), **changes))
        finally:
            generation.close()

    def indices(self) -> list[IndexEntry]:
        out = []
        store = EmbeddedRoot(self.root)
        for name in store.names():
            folder = store.current(name)
            if folder is None:
                continue
            generation = Generation(folder)
            try:
                out.append(IndexEntry(name, generation.count(), generation.index_meta(name)))
            except IndexMetaError:
                continue  # a folder hybrid did not finish creating
            finally:
                generation.close()
        return out

    async def async_indices(self) -> list[IndexEntry]:
        return await asyncio.to_thread(self.indices)

    async def problem(self) -> str | None:
        return None if self.root.is_dir() or not self.root.exists() else f"{self.root} is not a folder"

    def close(self) -> None:
        for search in self._opened:
            search.close()
        self._opened.clear()

    async def aclose(self) -> None:
        self.close()
