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
from hybrid.passages import best_passages
from hybrid.retrieval.facets import FacetCounts, FacetQuery, count_facets
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.request import Filter, RangeFilter, TermFilter
from hybrid.retrieval.types import BM25Query, KnnQuery, PassageMatches, SideQuery, StoredDocument, lucene_dense_score


def top_hits(scores: np.ndarray, mask: np.ndarray | None, size: int, ids: Sequence[str], *,
             positive_only: bool) -> RankedList:
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

    def _dense_scores(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Each document's score, and with passages the row of its best passage (max-passage)."""
        similarity = self.vectors.similarity(vector)
        best_rows = None
        if self.passages is not None:
            similarity, best_rows = best_passages(similarity, np.asarray(self.passages[0]))
        return lucene_dense_score(similarity, self._meta.fingerprint.similarity), best_rows

    def _dense_hits(self, query: KnnQuery, mask: np.ndarray | None) -> RankedList:
        scores, best_rows = self._dense_scores(query.vector)
        ranked = top_hits(scores, mask, query.size, self.ids, positive_only=False)
        if best_rows is None or self.passages is None:
            return ranked
        spans = self.passages[1]
        rows = {doc_id: int(best_rows[self.ids.row_of(doc_id)]) for doc_id, _ in ranked}  # type: ignore[index]
        return PassageMatches(ranked, {doc_id: (int(spans[r][0]), int(spans[r][1])) for doc_id, r in rows.items()})

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
