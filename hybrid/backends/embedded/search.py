"""``SearchBackend`` for the embedded index: exact BM25 (bm25s) and exact dense scores over all rows,
filters applied before ranking on both sides."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from hybrid.backends.base import BackendError
from hybrid.backends.embedded.ids import IdColumn
from hybrid.backends.embedded.lexical import FieldBM25, layout_fields
from hybrid.backends.embedded.postings import PostingsBM25
from hybrid.backends.embedded.store import EmbeddedRoot, Generation
from hybrid.backends.embedded.vectors import PassageColumns, VectorMatrix
from hybrid.index_meta import IndexMeta
from hybrid.lexical import BODY_FIELD
from hybrid.passages import best_row, document_maxima
from hybrid.retrieval.facets import FacetCounts, FacetQuery, count_facets
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.request import Filter, RangeFilter, TermFilter
from hybrid.retrieval.types import BM25Query, KnnQuery, PassageMatches, SideQuery, StoredDocument, lucene_dense_score


def top_rows(scores: np.ndarray, mask: np.ndarray | None, size: int, ids: Sequence[str], *,
             positive_only: bool) -> list[int]:
    """Best ``size`` rows (score descending, then id) among those the mask keeps."""
    keep = np.ones(len(scores), dtype=bool) if mask is None else mask.copy()
    if positive_only:
        keep &= scores > 0  # BM25: a document with no query term is not a hit
    rows = np.flatnonzero(keep)
    if len(rows) > size:
        part = np.argpartition(-scores[rows], size - 1)[:size]
        cutoff = scores[rows][part].min()
        rows = rows[scores[rows] >= cutoff]  # keep ties at the cut-off, resolved by id below
    return sorted(rows.tolist(), key=lambda r: (-float(scores[r]), ids[r]))[:size]


def top_hits(scores: np.ndarray, mask: np.ndarray | None, size: int, ids: Sequence[str], *,
             positive_only: bool) -> RankedList:
    """``top_rows`` as ``(id, score)`` pairs."""
    return [(ids[r], float(scores[r])) for r in top_rows(scores, mask, size, ids, positive_only=positive_only)]


class EmbeddedSearch:
    def __init__(self, root: Path, index: str) -> None:
        self.index = index
        folder = EmbeddedRoot(root).require(index)
        self.generation = Generation(folder)
        self._meta = self.generation.index_meta(index)
        if self._meta.state != "ready" or not IdColumn.exists(folder):
            self.generation.close()
            raise BackendError(f"embedded index {index!r} is not finished loading; rerun its ingest to complete it")
        # Memory-mapped: the ids, vectors and postings stay on disk (in the page cache), not in this process.
        self.ids = IdColumn(folder)
        self.vectors = VectorMatrix(folder, cosine=self._meta.fingerprint.similarity == "cosine")
        self.passages = PassageColumns.load(folder)  # (bounds, spans) when documents are split into passages
        self.bm25 = {f: self._field_bm25(folder, f) for f in layout_fields(self._meta.lexical)} if self.ids else {}
        self._columns: dict[str, list[object]] | None = None

    @staticmethod
    def _field_bm25(folder: Path, field: str) -> PostingsBM25 | FieldBM25:
        if PostingsBM25.exists(folder / f"postings-{field}"):
            return PostingsBM25(folder / f"postings-{field}")
        return FieldBM25.load(folder / f"bm25-{field}")  # an index finished before postings were streamed

    def close(self) -> None:
        self.generation.close()

    def index_meta(self) -> IndexMeta:
        return self._meta

    def _metadata_columns(self) -> dict[str, list[object]]:
        if self._columns is None:
            columns: dict[str, list[object]] = {name: [] for name in self._meta.metadata_fields}
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
                mask &= np.array([v is not None and low <= int(v) <= high for v in column], dtype=bool)  # type: ignore[call-overload]
            elif isinstance(f, TermFilter):
                wanted = set(f.values)
                mask &= np.array([bool(wanted & set(v if isinstance(v, list) else [v])) for v in column], dtype=bool)
        return mask

    def _bm25_scores(self, query: str) -> np.ndarray:
        if not self.bm25:
            return np.zeros(0, dtype=np.float32)
        if BODY_FIELD in self.bm25:
            return self.bm25[BODY_FIELD].scores(query)
        # The older layout's multi_match best_fields: the better of the boosted title score and the text score.
        return np.maximum(self.bm25["title"].scores(query) * self._meta.lexical.title_boost, self.bm25["text"].scores(query))

    def _dense_hits(self, query: KnnQuery, mask: np.ndarray | None) -> RankedList:
        """Documents by their dense score: with passages, their best passage's (max-passage), whose span
        each hit carries."""
        similarity = self.vectors.similarity(query.vector)
        space = self._meta.fingerprint.similarity
        if self.passages is None:
            return top_hits(lucene_dense_score(similarity, space), mask, query.size, self.ids, positive_only=False)
        bounds, spans = np.asarray(self.passages[0]), self.passages[1]
        scores = lucene_dense_score(document_maxima(similarity, bounds), space)
        rows = top_rows(scores, mask, query.size, self.ids, positive_only=False)
        best = {self.ids[r]: best_row(similarity, bounds, r) for r in rows}
        return PassageMatches([(self.ids[r], float(scores[r])) for r in rows],
                              {doc_id: (int(spans[p][0]), int(spans[p][1])) for doc_id, p in best.items()})

    def retrieve(self, queries: Sequence[SideQuery]) -> list[RankedList]:
        masks: dict[tuple[Filter, ...], np.ndarray | None] = {}
        out = []
        for query in queries:
            if query.filters not in masks:
                masks[query.filters] = self._mask(query.filters)
            if isinstance(query, BM25Query):
                out.append(top_hits(self._bm25_scores(query.text), masks[query.filters], query.size, self.ids,
                                    positive_only=True))
            else:
                out.append(self._dense_hits(query, masks[query.filters]))
        return out

    def fetch(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        out = {}
        for doc_id in ids:
            row = self.generation.document(doc_id)
            if row is not None:
                out[doc_id] = StoredDocument(row[0], row[1], row[2])  # type: ignore[arg-type]
        return out

    def fetch_page(self, ids: Sequence[str], facets: FacetQuery | None) -> tuple[dict[str, StoredDocument], FacetCounts | None]:
        page = self.fetch(ids)
        if facets is None:
            return page, None
        # The metadata columns the filters use already hold every document's values: no document is read.
        columns = self._metadata_columns()
        rows = [row for row in map(self.ids.row_of, facets.candidates) if row is not None]
        candidates = ({field: columns[field][row] for field, _ in facets.fields} for row in rows)
        return page, count_facets(candidates, facets)

    def documents(self) -> Iterator[tuple[str, StoredDocument]]:
        for doc_id, title, text, metadata, _vector in self.generation.iter_rows():
            yield doc_id, StoredDocument(title, text, json.loads(metadata))

    def sample(self, size: int, seed: int) -> list[tuple[str, StoredDocument]]:
        chosen = random.Random(seed).sample(self.ids, min(size, len(self.ids)))
        found = self.fetch(chosen)
        return [(doc_id, found[doc_id]) for doc_id in chosen if doc_id in found]

    def count(self) -> int:
        return len(self.ids)
