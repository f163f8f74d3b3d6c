"""The embedded index's vector matrix: float32, float16 or int8 rows in a ``.npy`` file, written and
scored through one block-sized memory map at a time, so neither ingest nor search holds more than a
block of it (a map kept open would keep every page it touched in the process, file-backed or not).

``int8`` keeps each row as ``round(127 * v / max|v|)`` with its scale ``max|v| / 127`` beside it
(per-row symmetric quantisation: a row's largest component keeps full precision, and its dot product
with the query is the int8 row's times the scale). ``fp16`` is IEEE half precision. Cosine indices also
store each row's norm, computed from the float32 vector before any rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hybrid.backends.embedded.npy import NpyFile

VECTORS = "vectors.npy"
SCALES = "vector-scales.npy"
NORMS = "vector-norms.npy"
PASSAGE_BOUNDS = "passage-bounds.npy"  # document i's passages are rows bounds[i]:bounds[i+1]
PASSAGE_SPANS = "passage-spans.npy"  # each row's character span of its document's text
BLOCK_ROWS = 16_384  # rows scored per step: about 25 MB of float32 at 384 dimensions
STORAGE = {"none": np.float32, "fp16": np.float16, "int8": np.int8}


class VectorWriter:
    """Writes ``count`` rows, one at a time in row order, in the storage the index asked for."""

    def __init__(self, folder: Path, count: int, dimension: int, compression: str, *, cosine: bool) -> None:
        self.folder = folder
        self.compression = compression
        self._matrix = NpyFile.create(folder / f"{VECTORS}.tmp", STORAGE[compression], (count, dimension))
        self._pending: list[np.ndarray] = []
        self._next = 0  # first row not yet written
        self._scales = np.ones(count, dtype=np.float32) if compression == "int8" else None
        self._norms = np.ones(count, dtype=np.float32) if cosine else None

    def add(self, vector: np.ndarray) -> None:
        """The next row."""
        row = self._next + len(self._pending)
        if self._norms is not None:
            self._norms[row] = float(np.linalg.norm(vector))
        if self._scales is not None:
            scale = float(np.abs(vector).max()) / 127 or 1.0
            self._scales[row] = scale
            vector = np.rint(vector / scale)
        self._pending.append(np.asarray(vector, dtype=self._matrix.dtype))
        if len(self._pending) >= BLOCK_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            block = self._matrix.rows(self._next, len(self._pending), "r+")
            block[:] = np.stack(self._pending)
            block.flush()
            del block
            self._next += len(self._pending)
            self._pending = []

    def finish(self) -> None:
        self._flush()
        if self._next != len(self._matrix):
            raise ValueError(f"{self._next} vectors written, {len(self._matrix)} expected")
        for name, column in ((SCALES, self._scales), (NORMS, self._norms)):
            if column is not None:
                np.save(self.folder / name, column)
            else:
                (self.folder / name).unlink(missing_ok=True)
        self._matrix.path.replace(self.folder / VECTORS)


class VectorMatrix:
    """Raw similarity (dot, or cosine when the index's similarity is cosine) of a query with every row."""

    def __init__(self, folder: Path, *, cosine: bool) -> None:
        self._matrix = NpyFile.open(folder / VECTORS)
        self._scales = np.load(folder / SCALES) if (folder / SCALES).is_file() else None
        self._norms = np.load(folder / NORMS) if (folder / NORMS).is_file() else None
        self._cosine = cosine

    @property
    def storage(self) -> str:
        return {np.dtype(v): k for k, v in STORAGE.items()}[self._matrix.dtype]

    def __len__(self) -> int:
        return len(self._matrix)

    def similarity(self, query: np.ndarray) -> np.ndarray:
        query = np.asarray(query, dtype=np.float32)
        out = np.empty(len(self), dtype=np.float64)
        for start in range(0, len(self), BLOCK_ROWS):
            size = min(BLOCK_ROWS, len(self) - start)
            block = self._matrix.rows(start, size)
            raw = (block if block.dtype == np.float32 else block.astype(np.float32)) @ query
            if self._scales is not None:
                raw = raw * self._scales[start : start + BLOCK_ROWS]
            if self._cosine:
                norms = (self._norms[start : start + BLOCK_ROWS] if self._norms is not None
                         else np.linalg.norm(block.astype(np.float32), axis=1))  # indices built before norms were kept
                raw = raw / np.maximum(norms * max(float(np.linalg.norm(query)), 1e-12), 1e-12)
            out[start : start + size] = raw
            del block  # unmapped: the page cache keeps the file, this process does not
        return out


class PassageColumns:
    """Which rows of the matrix are whose passages, and the character span of each (indices with passages)."""

    def __init__(self, folder: Path, documents: int) -> None:
        self.folder = folder
        self._bounds = np.zeros(documents + 1, dtype=np.int64)
        self._spans: list[tuple[int, int]] = []
        self._next = 0

    def add(self, spans: list[tuple[int, int]]) -> None:
        """The next document's passage spans, in row order."""
        self._spans.extend(spans)
        self._next += 1
        self._bounds[self._next] = len(self._spans)

    def finish(self) -> None:
        np.save(self.folder / PASSAGE_SPANS, np.asarray(self._spans, dtype=np.int64).reshape(-1, 2))
        np.save(self.folder / PASSAGE_BOUNDS, self._bounds)

    @staticmethod
    def remove(folder: Path) -> None:
        for name in (PASSAGE_BOUNDS, PASSAGE_SPANS):
            (folder / name).unlink(missing_ok=True)

    @staticmethod
    def load(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
        """``(bounds, spans)``, or None for an index of one vector per document."""
        if not (folder / PASSAGE_BOUNDS).is_file():
            return None
        return np.load(folder / PASSAGE_BOUNDS, mmap_mode="r"), np.load(folder / PASSAGE_SPANS, mmap_mode="r")
