"""A ``.npy`` file mapped a slice of rows at a time: what the embedded index's writers and readers share.

A map kept open keeps every page it touched in the process (file-backed or not), so each slice is
mapped for one step and dropped; the page cache keeps the file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


class NpyFile:
    def __init__(self, path: Path, header: int, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        self.path, self.header, self.dtype, self.shape = path, header, dtype, shape
        self.row_bytes = math.prod(shape[1:]) * dtype.itemsize

    @classmethod
    def create(cls, path: Path, dtype: object, shape: tuple[int, ...]) -> NpyFile:
        created = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        try:
            return cls(path, created.offset, created.dtype, created.shape)
        finally:
            del created

    @classmethod
    def open(cls, path: Path) -> NpyFile:
        mapped = np.load(path, mmap_mode="r")
        try:
            return cls(path, mapped.offset, mapped.dtype, mapped.shape)
        finally:
            del mapped

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, count: int, mode: str = "r") -> np.memmap:
        """Rows ``start`` to ``start + count`` mapped (``mode`` "r+" to write them)."""
        return np.memmap(self.path, dtype=self.dtype, mode=mode, offset=self.header + start * self.row_bytes,
                         shape=(count, *self.shape[1:]))
