"""``IngestTarget`` for the embedded index: same contract as OpenSearch (fingerprint check, resume,
idempotent ids, atomic swap on reindex), no server."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hybrid.backends.base import BackendError, IndexOptions
from hybrid.backends.embedded.lexical import FieldBM25, field_texts, layout_scoring
from hybrid.backends.embedded.store import EmbeddedRoot, Generation
from hybrid.documents import Document, Reject
from hybrid.index_meta import IndexMeta, IndexMetaError
from hybrid.recipes.fingerprint import Fingerprint, check_fingerprint

VECTORS = "vectors.npy"
IDS = "ids.json"


def build_search_files(generation: Generation, meta: IndexMeta) -> None:
    """Write what search loads: the layout's BM25 indices, the vector matrix and the row → id list."""
    ids: list[str] = []
    titles: list[str] = []
    texts: list[str] = []
    count = generation.count()
    vectors = np.lib.format.open_memmap(
        generation.folder / f"{VECTORS}.tmp", mode="w+", dtype=np.float32, shape=(count, meta.fingerprint.dimension)
    )
    for row, (doc_id, title, text, _, blob) in enumerate(generation.iter_rows()):
        ids.append(doc_id)
        titles.append(title)
        texts.append(text)
        vectors[row] = np.frombuffer(blob, dtype=np.float32)
    vectors.flush()
    del vectors
    if ids:  # bm25s cannot index an empty corpus; search treats a missing BM25 index as matching nothing
        scoring = layout_scoring(meta.lexical)
        for field, values in field_texts(meta.lexical, titles, texts).items():
            FieldBM25.build(values, k1=meta.lexical.k1, b=meta.lexical.b, scoring=scoring).save(
                generation.folder / f"bm25-{field}")
    (generation.folder / IDS).write_text(json.dumps(ids))
    (generation.folder / f"{VECTORS}.tmp").replace(generation.folder / VECTORS)


class EmbeddedTarget:
    def __init__(self, root: Path) -> None:
        self.root = EmbeddedRoot(root)
        self.name = ""
        self.generation: Generation | None = None
        self.replaces: Path | None = None
        self._meta: IndexMeta | None = None

    @property
    def description(self) -> str:
        where = self.generation.folder if self.generation else self.root.root
        return f"embedded index {self.name or '?'} at {where}"

    def _pending(self, name: str, current: Path | None, fingerprint: Fingerprint) -> Path | None:
        for folder in reversed(self.root.generations(name)):
            if folder == current:
                continue
            gen = Generation(folder)
            try:
                meta = gen.index_meta(name)
                if meta.state == "loading" and meta.fingerprint.id == fingerprint.id:
                    return folder
            except IndexMetaError:
                continue
            finally:
                gen.close()
        return None

    def open(self, name: str, meta: IndexMeta, options: IndexOptions, *, reindex: bool) -> None:
        # Shards, replicas and HNSW settings have no meaning here; compression would (memory), so it is refused.
        if options.vector_compression != "none":
            raise ValueError("vector compression is an OpenSearch option: the embedded index keeps float32 vectors")
        self.name, self._meta = name, meta
        fingerprint = meta.fingerprint
        current = self.root.current(name)
        if current is not None and not reindex:
            self.generation = Generation(current)
            try:
                stored = self.generation.index_meta(name)
            except IndexMetaError as exc:
                raise BackendError(f"{exc}; re-ingest with --reindex") from None
            check_fingerprint(stored.fingerprint, fingerprint, index=name)
            meta = meta.continuing(stored)
        else:
            if current is not None:
                meta = self._rebuilding(meta, Generation(current), name)
            folder = (self._pending(name, current, fingerprint) if reindex else None) or self.root.new_generation(name)
            self.generation = Generation(folder)
            self.replaces = current if reindex else None
            if current is None:
                self.root.point(name, folder)
        self._meta = meta
        self.generation.set_index_meta(dataclasses.replace(meta, state="loading"))

    @staticmethod
    def _rebuilding(meta: IndexMeta, current: Generation, name: str) -> IndexMeta:
        """``meta.rebuilding`` the current generation's record (unchanged if that record is unreadable)."""
        try:
            return meta.rebuilding(current.index_meta(name))
        except IndexMetaError:
            return meta
        finally:
            current.close()

    def _gen(self) -> Generation:
        if self.generation is None:
            raise BackendError("the embedded target is not open")
        return self.generation

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        return self._gen().existing_ids(ids)

    def write(self, docs: Sequence[Document], vectors: np.ndarray) -> list[Reject]:
        self._gen().write(docs, vectors)
        return []

    def finish(self, *, force_merge: bool = False) -> None:
        del force_merge
        gen = self._gen()
        build_search_files(gen, gen.index_meta(self.name))
        gen.set_index_meta(dataclasses.replace(gen.index_meta(self.name), state="ready"))
        if self.replaces is not None and self.replaces != gen.folder:
            self.root.point(self.name, gen.folder)
            self.root.drop_generation(self.replaces)

    def abort(self) -> None:
        pass  # SQLite already holds every committed batch; nothing to restore

    def count(self) -> int:
        return self._gen().count()

    def close(self) -> None:
        if self.generation is not None:
            self.generation.close()
