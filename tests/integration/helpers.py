"""Shared by the integration tests: the sample with filterable metadata, and a node of one's own."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hybrid.backends.base import IndexOptions, IngestTarget
from hybrid.beir import iter_corpus
from hybrid.data import sample_dir
from hybrid.encoders import Encoder
from hybrid.ingest.pipeline import IngestOptions, run_ingest
from hybrid.ingest.sources import FieldOverrides, open_source
from hybrid.local_opensearch import Manager, NodeInfo, manager_for
from hybrid.settings import load_settings

META_FIELDS = FieldOverrides(metadata=(("year", "integer"), ("journal", "keyword")))


def sample_with_metadata(folder: Path) -> Path:
    """The sample with synthetic filterable metadata: year = 2000 + id % 20, journal = J<id % 3>."""
    path = folder / "sample-meta.jsonl"
    with path.open("w") as fh:
        for doc in iter_corpus(sample_dir()):
            row = {"id": doc.id, "title": doc.title, "text": doc.text,
                   "year": 2000 + int(doc.id) % 20, "journal": f"J{int(doc.id) % 3}"}
            fh.write(json.dumps(row) + "\n")
    return path


def ingest_sample(target: IngestTarget, index: str, encoder: Encoder, folder: Path, *, shards: int = 1,
                  limit: int | None = None, passages: bool = True) -> None:
    """The sample with metadata into ``index`` (0 replicas); ``passages=False`` for tests about something
    else (one vector per document embeds half as many texts)."""
    run_ingest(open_source(sample_with_metadata(folder), "jsonl", META_FIELDS), index=index, encoder=encoder,
               target=target, rejects_path=folder / "rejects.jsonl", metadata_fields=dict(META_FIELDS.metadata),
               index_options=IndexOptions(shards=shards, replicas=0, passages=passages),
               options=IngestOptions(batch_size=64, limit=limit))


@contextmanager
def dedicated_node(purpose: str) -> Iterator[tuple[Manager, str, NodeInfo]]:
    """A node started for one test (which may stop and restart it), purged afterwards."""
    manager = manager_for(load_settings())
    name = f"pytest-{purpose}-{os.getpid()}"
    info = manager.start(name, heap_mb=256, timeout_s=180)
    try:
        yield manager, name, info
    finally:
        manager.node(name).purge()
