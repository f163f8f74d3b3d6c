"""``IngestTarget`` for the embedded index: same contract as OpenSearch (fingerprint check, resume,
idempotent ids, atomic swap on reindex), no server."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hybrid.backends.base import EMBEDDED_COMPRESSIONS, BackendError, Finished, IndexOptions, check_compression
from hybrid.backends.embedded.ids import LEGACY_IDS, IdWriter
from hybrid.backends.embedded.lexical import field_values, layout_fields, layout_scoring
from hybrid.backends.embedded.postings import PostingsWriter
from hybrid.backends.embedded.store import EmbeddedRoot, Generation
from hybrid.backends.embedded.vectors import PassageColumns, VectorWriter
from hybrid.documents import Document, Reject
from hybrid.index_meta import IndexMeta, IndexMetaError
from hybrid.ingest.shares import WorkerShare
from hybrid.passages import DocumentVectors
from hybrid.recipes.fingerprint import Fingerprint, check_fingerprint


def build_search_files(generation: Generation, meta: IndexMeta) -> None:
    """Write what search maps: the layout's BM25 postings, the vector matrix and the row → id column.

    One pass over the stored documents in id order, each handed to the writers and dropped: memory does
    not grow with the corpus (the postings writer spills sorted runs to disk)."""
    folder = generation.folder
    for legacy in [*folder.glob("bm25-*"), folder / LEGACY_IDS]:  # files of the bm25s-era layout
        shutil.rmtree(legacy, ignore_errors=True) if legacy.is_dir() else legacy.unlink(missing_ok=True)
    count, dimension = generation.count(), meta.fingerprint.dimension
    vectors = VectorWriter(folder, generation.vector_rows(dimension), dimension, meta.vector_compression,
                           cosine=meta.fingerprint.similarity == "cosine")
    passages = PassageColumns(folder, count) if meta.passages is not None else None
    if passages is None:
        PassageColumns.remove(folder)
    scoring = layout_scoring(meta.lexical)
    postings = {field: PostingsWriter(folder / f"postings-{field}", k1=meta.lexical.k1, b=meta.lexical.b,
                                      scoring=scoring) for field in layout_fields(meta.lexical)}
    ids = IdWriter(folder)
    for row, (doc_id, title, text, _, blob) in enumerate(generation.iter_rows()):
        if row >= count:
            raise BackendError(f"{generation.folder} changed while its search files were built; finish again")
        ids.add(doc_id)
        matrix = np.frombuffer(blob, dtype=np.float32).reshape(-1, dimension)
        for vector in matrix:
            vectors.add(vector)
        if passages is not None:
            passages.add((generation.spans_of(doc_id) if len(matrix) > 1 else None) or [(0, len(text))])
        for field, value in field_values(meta.lexical, title, text).items():
            postings[field].add(value)
    for writer in postings.values():
        writer.finish()
    vectors.finish()
    if passages is not None:
        passages.finish()
    ids.finish()  # last: its file is what marks the generation searchable


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

    def open(self, name: str, meta: IndexMeta, options: IndexOptions, *, reindex: bool,
             worker: WorkerShare | None = None) -> None:
        if worker is not None:
            raise ValueError("--worker splits a load across processes writing to OpenSearch; one process "
                             "writes an embedded index")
        # Shards, replicas and HNSW settings have no meaning here; vector storage does.
        check_compression(options.vector_compression, EMBEDDED_COMPRESSIONS, "embedded")
        meta = dataclasses.replace(meta, vector_compression=options.vector_compression)
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
            if options.vector_compression not in ("none", stored.vector_compression):
                held = {"none": "float32"}.get(stored.vector_compression, stored.vector_compression)
                raise BackendError(f"embedded index {name!r} stores {held} vectors, not "
                                   f"{options.vector_compression}; re-ingest with --reindex to change that")
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

    @property
    def meta(self) -> IndexMeta:
        if self._meta is None:
            raise BackendError("the embedded target is not open")
        return self._meta

    def write(self, docs: Sequence[Document], vectors: Sequence[DocumentVectors]) -> list[Reject]:
        self._gen().write(docs, vectors)
        return []

    def finish(self, *, force_merge: bool = False) -> Finished:
        del force_merge
        gen = self._gen()
        build_search_files(gen, gen.index_meta(self.name))
        gen.set_index_meta(dataclasses.replace(gen.index_meta(self.name), state="ready"))
        if self.replaces is not None and self.replaces != gen.folder:
            self.root.point(self.name, gen.folder)
            self.root.drop_generation(self.replaces)
        return Finished()

    def abort(self) -> None:
        pass  # SQLite already holds every committed batch; nothing to restore

    def count(self) -> int:
        return self._gen().count()

    def close(self) -> None:
        if self.generation is not None:
            self.generation.close()
