"""Worker I of N: which records a worker takes when several split one ingest.

A document belongs to the worker its id hashes to, a rejected record (which may have no usable id) to the
worker its position in the input hashes to. Every worker reads the same input in the same order and
decides alike, so the shares are disjoint, cover the input, and a rerun takes the same share.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerShare:
    worker: int  # 1-based: "2/4" is the second of four
    workers: int

    def __post_init__(self) -> None:
        if not 1 <= self.worker <= self.workers <= 4096:
            raise ValueError(f"worker {self.worker}/{self.workers}: expected I/N with 1 <= I <= N <= 4096")

    @classmethod
    def parse(cls, text: str) -> WorkerShare:
        worker, slash, workers = text.partition("/")
        if not slash or not worker.strip().isdigit() or not workers.strip().isdigit():
            raise ValueError(f"--worker {text!r}: expected I/N, e.g. 1/4")
        return cls(int(worker), int(workers))

    def owns(self, key: str) -> bool:
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.workers == self.worker - 1

    def __str__(self) -> str:
        return f"{self.worker}/{self.workers}"
