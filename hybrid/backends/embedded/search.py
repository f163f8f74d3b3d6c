"""``SearchBackend`` for the embedded index: exact BM25 (bm25s) and exact dense scores over all rows,
filters applied before ranking on both sides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hybrid.backends.base import TITLE_BOOST, BackendError
from hybrid.backends.embedded.lexical import FieldBM25
from hybrid.backends.embedded.store import EmbeddedRoot, Generation, metadata_fields_of
from hybrid.backends.embedded.target import IDS, VECTORS
from hybrid.documents import MetadataFields
from hybrid.encoders import Fingerprint
from hybrid.retrieval.fusion import Run
from hybrid.retrieval.request import Filter, RangeFilter, TermFilter
from hybrid.retrieval.types import StoredDocument, lucene_dense_score


def _top(scores: np.ndarray, mask: np.ndarray | None, size: int, ids: list[str], *, positive_only: bool) -> Run:
    """Best ``size`` rows (score descending, then id) among those the mask keeps."""
    keep = np.ones(len(scores), dtype=bool) if mask is None else mask.copy()
    if positive_only:
        keep &= scores > 0  # BM25: a document with no query term is not a hit
    rows = np.flatnonzero(keep)
    if len(rows) > size:
        part = np.argpartition(-scores[rows], size - 1)[:size]
        cutoff = scores[rows][part].min()
        rows = rows[scores[rows] >= cutoff]  # keep ties at the cut-off, resolved by id below
    ordered = sorted(rows.tolist(), key=lambda r: (-float(scores[r]), ids[r]))[:size]
    return [(ids[r], float(scores[r])) for r in ordered]


class EmbeddedSearch:
    def __init__(self, root: Path, index: str) -> None:
        self.index = index
        folder = EmbeddedRoot(root).require(index)
        self.generation = Generation(folder)
        if self.generation.get_meta("state") != "ready" or not (folder / IDS).is_file():
            raise BackendError(f"embedded index {index!r} is not finished loading; rerun its ingest to complete it")
        self.ids: list[str] = json.loads((folder / IDS).read_text())
        self.vectors = np.load(folder / VECTORS, mmap_mode="r")
        self.title_bm25 = FieldBM25.load(folder / "bm25-title")
        self.text_bm25 = FieldBM25.load(folder / "bm25-text")
        self._fingerprint = Fingerprint.from_meta(self.generation.get_meta("fingerprint"))  # type: ignore[arg-type]
        self._fields = metadata_fields_of(self.generation)
        self._columns: dict[str, list[object]] | None = None

    def close(self) -> None:
        self.generation.close()

    def fingerprint(self) -> Fingerprint:
        return self._fingerprint

    def filterable_fields(self) -> MetadataFields:
        return dict(self._fields)

    def _metadata_columns(self) -> dict[str, list[object]]:
        if self._columns is None:
            columns: dict[str, list[object]] = {name: [] for name in self._fields}
            for _, _, _, metadata, _ in self.generation.iter_rows():  # id order == ids.json order
                values = json.loads(metadata)
                for name in columns:
                    columns[name].append(values.get(name))
            self._columns = columns
        return self._columns

    def _mask(self, filters: tuple[Filter, ...]) -> np.ndarray | None:
        if not filters:
            return None
        columns = self._metadata_columns()
        mask = np.ones(len(self.ids), dtype=bool)
        for f in filters:
            column = columns.get(f.field, [None] * len(self.ids))
            if isinstance(f, RangeFilter):
                low = -np.inf if f.gte is None else f.gte
                high = np.inf if f.lte is None else f.lte
                mask &= np.array([v is not None and low <= int(v) <= high for v in column])  # type: ignore[call-overload]
            elif isinstance(f, TermFilter):
                wanted = set(f.values)
                mask &= np.array([bool(wanted & set(v if isinstance(v, list) else [v])) for v in column])
        return mask

    def _lexical_scores(self, query: str) -> np.ndarray:
        # multi_match best_fields: the better of the boosted title score and the text score.
        return np.maximum(self.title_bm25.scores(query) * TITLE_BOOST, self.text_bm25.scores(query))

    def _dense_scores(self, vector: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.vectors @ np.asarray(vector, dtype=np.float32), dtype=np.float64)
        if self._fingerprint.similarity == "cosine":
            norms = np.linalg.norm(self.vectors, axis=1) * max(float(np.linalg.norm(vector)), 1e-12)
            raw = raw / np.maximum(norms, 1e-12)
        return lucene_dense_score(raw, self._fingerprint.similarity)

    def lexical(self, query: str, size: int, filters: tuple[Filter, ...]) -> Run:
        return _top(self._lexical_scores(query), self._mask(filters), size, self.ids, positive_only=True)

    def dense(self, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> Run:
        return _top(self._dense_scores(vector), self._mask(filters), size, self.ids, positive_only=False)

    def both(self, query: str, vector: np.ndarray, size: int, filters: tuple[Filter, ...]) -> tuple[Run, Run]:
        mask = self._mask(filters)
        return (_top(self._lexical_scores(query), mask, size, self.ids, positive_only=True),
                _top(self._dense_scores(vector), mask, size, self.ids, positive_only=False))

    def lexical_many(self, queries: list[str], size: int) -> list[Run]:
        return [self.lexical(q, size, ()) for q in queries]

    def fetch(self, ids: list[str]) -> dict[str, StoredDocument]:
        out = {}
        for doc_id in ids:
            row = self.generation.document(doc_id)
            if row is not None:
                out[doc_id] = StoredDocument(row[0], row[1], row[2])  # type: ignore[arg-type]
        return out

    def documents(self) -> Iterator[tuple[str, StoredDocument]]:
        for doc_id, title, text, metadata, _vector in self.generation.iter_rows():
            yield doc_id, StoredDocument(title, text, json.loads(metadata))

    def count(self) -> int:
        return len(self.ids)
