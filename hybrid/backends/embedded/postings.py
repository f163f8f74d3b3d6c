"""BM25 postings for the embedded index, built in bounded memory and searched memory-mapped.

The build takes documents one at a time (row order). Postings (term, row, tf) collect in a buffer of
machine integers that is sorted by term and spilled to a run file whenever it holds ``spill_postings``
entries (12 MB at the default); ``finish`` then knows every term's document frequency and the average
length, and scatters each run into the final term-major arrays, scoring each posting once. Memory is one
run plus the vocabulary and 4 bytes per document (its length), whatever the corpus size.

On disk (``<folder>/``): ``vocab.json`` (term → term number), ``indptr.npy`` (term t's postings are
``indptr[t]:indptr[t+1]``), ``rows.npy`` (int32 rows), ``weights.npy`` (float32 BM25 contribution of the
term to that row) and ``postings.json`` (parameters). A query's scores are the sum, over its terms, of
each term's weights added at its rows: the exact BM25 score of every document.

Scoring (``tf`` term frequency, ``dl`` document length, ``n`` documents with the term, ``N`` documents):
``idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl / avgdl))`` with ``lucene``'s idf
``ln(1 + (N - n + 0.5) / (n + 0.5))`` (OpenSearch's BM25) or ``okapi``'s Robertson idf
``ln((N - n + 0.5) / (n + 0.5))`` floored at 0 (how indices of the older layout have always scored).
"""

from __future__ import annotations

import json
import shutil
from array import array
from collections import Counter
from pathlib import Path

import numpy as np

from hybrid.analysis import analyze
from hybrid.backends.embedded.npy import NpyFile

PARAMETERS = "postings.json"
MERGE_SLICE = 250_000  # postings scattered per step of the merge


def idf(df: np.ndarray, docs: int, scoring: str) -> np.ndarray:
    ratio = (docs - df + 0.5) / (df + 0.5)
    return np.log1p(ratio) if scoring == "lucene" else np.maximum(np.log(ratio), 0.0)


class PostingsWriter:
    """Collects documents' tokens and writes the postings of one BM25 field."""

    def __init__(self, folder: Path, *, k1: float, b: float, scoring: str, spill_postings: int = 1_000_000) -> None:
        self.folder = folder
        self.k1, self.b, self.scoring = k1, b, scoring
        self.spill_postings = spill_postings
        self.vocab: dict[str, int] = {}
        self.lengths = array("i")  # 4 bytes per document
        # The run being collected, as machine integers (a Python int in a list costs ten times more).
        self._terms, self._rows, self._tfs = array("i"), array("i"), array("i")
        self._runs: list[Path] = []
        self._spill = folder / ".runs"
        shutil.rmtree(folder, ignore_errors=True)
        self._spill.mkdir(parents=True)

    def add(self, text: str) -> None:
        tokens = analyze(text)
        row = len(self.lengths)
        self.lengths.append(len(tokens))
        for term, tf in Counter(tokens).items():
            self._terms.append(self.vocab.setdefault(term, len(self.vocab)))
            self._rows.append(row)
            self._tfs.append(tf)
        if len(self._terms) >= self.spill_postings:
            self._write_run()

    def _write_run(self) -> None:
        if not self._terms:
            return
        terms = np.frombuffer(self._terms, dtype=np.int32)
        order = np.argsort(terms, kind="stable")  # rows stay ascending within a term
        run = self._spill / f"run-{len(self._runs):05d}.npz"
        np.savez(run, terms=terms[order], rows=np.frombuffer(self._rows, dtype=np.int32)[order],
                 tfs=np.frombuffer(self._tfs, dtype=np.int32)[order])
        self._runs.append(run)
        del terms
        self._terms, self._rows, self._tfs = array("i"), array("i"), array("i")

    def finish(self) -> None:
        """Merge the runs into the searchable arrays (a document count of 0 writes an empty index)."""
        self._write_run()
        lengths = np.frombuffer(self.lengths, dtype=np.int32) if self.lengths else np.zeros(0, dtype=np.int32)
        docs, vocabulary = len(lengths), len(self.vocab)
        df = np.zeros(vocabulary, dtype=np.int64)
        for run in self._runs:
            with np.load(run) as part:
                df += np.bincount(part["terms"], minlength=vocabulary)
        indptr = np.zeros(vocabulary + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        total = int(indptr[-1])
        rows_file = NpyFile.create(self.folder / "rows.npy", np.int32, (total,))
        weights_file = NpyFile.create(self.folder / "weights.npy", np.float32, (total,))
        average = float(lengths.mean()) if docs else 1.0
        term_idf = idf(df.astype(np.float64), docs, self.scoring) * (self.k1 + 1)
        norm = self.k1 * (1 - self.b + self.b * lengths.astype(np.float64) / max(average, 1e-9))
        filled = np.zeros(vocabulary, dtype=np.int64)  # postings of each term already placed
        for run in self._runs:  # runs are in row order, so each term's rows stay ascending
            with np.load(run) as part:
                terms, run_rows, tfs = part["terms"], part["rows"], part["tfs"]
            first = np.searchsorted(terms, terms, side="left")  # each posting's rank within its term
            # Mapped for this run only: unmapping drops the touched pages from this process.
            rows, weights = rows_file.rows(0, total, "r+"), weights_file.rows(0, total, "r+")
            for start in range(0, len(terms), MERGE_SLICE):  # bounded temporaries
                part_terms = terms[start : start + MERGE_SLICE]
                part_rows = run_rows[start : start + MERGE_SLICE]
                part_tfs = tfs[start : start + MERGE_SLICE].astype(np.float64)
                at = (indptr[part_terms] + filled[part_terms]
                      + (np.arange(start, start + len(part_terms)) - first[start : start + MERGE_SLICE]))
                rows[at] = part_rows
                weights[at] = term_idf[part_terms] * part_tfs / (part_tfs + norm[part_rows])
            rows.flush()
            weights.flush()
            del rows, weights
            filled += np.bincount(terms, minlength=vocabulary)
        np.save(self.folder / "indptr.npy", indptr)
        (self.folder / "vocab.json").write_text(json.dumps(self.vocab))
        (self.folder / PARAMETERS).write_text(json.dumps(
            {"k1": self.k1, "b": self.b, "scoring": self.scoring, "docs": docs, "avgdl": average}))
        shutil.rmtree(self._spill, ignore_errors=True)


class PostingsBM25:
    """Exact BM25 scores of every document; each query term's postings are mapped for that term only
    (a map kept open would keep every posting any query touched in the process)."""

    def __init__(self, folder: Path) -> None:
        saved = json.loads((folder / PARAMETERS).read_text())
        self.docs = int(saved["docs"])
        self.scoring = saved["scoring"]
        self.vocab: dict[str, int] = json.loads((folder / "vocab.json").read_text())
        self._indptr = np.load(folder / "indptr.npy")  # 8 bytes per term
        self._rows, self._weights = NpyFile.open(folder / "rows.npy"), NpyFile.open(folder / "weights.npy")

    @staticmethod
    def exists(folder: Path) -> bool:
        return (folder / PARAMETERS).is_file()

    def scores(self, query: str) -> np.ndarray:
        return self.scores_for_tokens(analyze(query))

    def scores_for_tokens(self, tokens: list[str]) -> np.ndarray:
        """Each document's score; a term repeated in the query counts again (as a Lucene bool of terms does)."""
        out = np.zeros(self.docs, dtype=np.float32)
        for token in tokens:
            term = self.vocab.get(token)
            if term is None:
                continue
            start, end = int(self._indptr[term]), int(self._indptr[term + 1])
            if end > start:
                # A term's rows are distinct, so fancy-index addition adds each weight once.
                out[self._rows.rows(start, end - start)] += self._weights.rows(start, end - start)
        return out
