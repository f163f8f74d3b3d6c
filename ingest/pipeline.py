"""read → validate → batch → encode → bulk, with encoding and writing overlapped.

The main thread reads, validates and encodes; a writer thread takes encoded batches from a bounded
queue and writes them, so bulk I/O hides behind encoding and memory stays bounded (at most
``queue_batches`` batches in flight). Before a batch is encoded, ids the index already holds are
skipped: a rerun after Ctrl-C, SIGKILL or a node restart resumes without re-encoding.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.backends.base import IndexOptions, IngestTarget
from hybrid.documents import Document, MetadataFields, Reject
from hybrid.index_meta import IndexMeta
from hybrid.ingest.rejects import RejectsWriter
from hybrid.ingest.shares import WorkerShare
from hybrid.ingest.sources import Source
from hybrid.ingest.validate import Validator
from hybrid.passages import DocumentVectors, PassageLayout, PassageSplitter, encoder_layout, grouped, passage_texts
from hybrid.progress import Progress, progress

if TYPE_CHECKING:
    from hybrid.encoders import Encoder


class IngestError(Exception):
    """The ingest stopped; what was written stays, and rerunning the same command resumes."""


@dataclass(frozen=True)
class IngestOptions:
    batch_size: int | None = None  # documents per encode/bulk batch; None: ``default_batch_size(encoder)``
    limit: int | None = None
    dry_run: bool = False
    reindex: bool = False
    force_merge: bool = False
    queue_batches: int = 4
    show_progress: bool = False
    expected_total: int | None = None
    worker: WorkerShare | None = None  # this run's share when several workers split the input

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch size {self.batch_size}: it must be at least 1")
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit {self.limit}: it must be 0 or more")
        if self.queue_batches < 1:
            raise ValueError(f"queue of {self.queue_batches} batches: it must be at least 1")


CPU_BATCH_DOCUMENTS = 64


def default_batch_size(encoder: Encoder) -> int:
    """Documents per batch: 64 on a CPU (bulk requests stay small, progress moves); on a GPU twice the
    encoder's own batch, so that each encode call fills the device instead of idling between small ones."""
    if encoder.device.type == "cpu":
        return CPU_BATCH_DOCUMENTS
    return max(CPU_BATCH_DOCUMENTS, 2 * encoder.batch_size)


@dataclass
class IngestSummary:
    target: str
    read: int = 0
    indexed: int = 0
    skipped: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects_path: Path | None = None
    index_count: int | None = None
    dry_run: bool = False
    reject_reasons: dict[str, int] = field(default_factory=dict)
    others: int = 0  # records left to the other workers
    worker: WorkerShare | None = None
    waiting_for: tuple[int, ...] = ()  # workers still loading: the index goes live when the last finishes
    made_live: bool = False  # this run finished the load (the index became searchable with what it wrote)

    @property
    def docs_per_s(self) -> float:
        return (self.indexed + self.skipped) / self.seconds if self.seconds else 0.0

    @property
    def nothing_usable(self) -> bool:
        """Records were read and every one was rejected: the run finished but indexed nothing."""
        return self.read > 0 and self.rejected >= self.read


class _Writer(threading.Thread):
    """Drains encoded batches into the target; the first exception stops it and is re-raised."""

    def __init__(self, target: IngestTarget, capacity: int) -> None:
        super().__init__(name="hybrid-bulk-writer", daemon=True)
        self.target = target
        self.jobs: queue.Queue[tuple[list[Document], list[DocumentVectors]] | None] = queue.Queue(maxsize=capacity)
        self.failures: list[Reject] = []
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is not None:
                continue  # drain so the producer never blocks on a dead writer
            try:
                failed = self.target.write(*job)
                self.failures.extend(failed)
                self.written += len(job[0]) - len(failed)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self.error = exc

    def submit(self, docs: list[Document], vectors: list[DocumentVectors]) -> None:
        self._raise_if_failed()
        self.jobs.put((docs, vectors))

    def close(self) -> None:
        self.jobs.put(None)
        self.join()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise IngestError(f"writing failed: {type(self.error).__name__}: {self.error}") from self.error


def _valid_documents(source: Source, rejects: RejectsWriter, summary: IngestSummary, limit: int | None,
                     share: WorkerShare | None = None) -> Iterator[Document]:
    validator = Validator(source.fields)  # sees every record, so duplicates are found across shares
    produced = 0
    try:
        for raw in source.records:
            if limit is not None and produced >= limit:
                return
            result = validator(raw)
            if share is not None and not share.owns(result.position if isinstance(result, Reject) else result.id):
                summary.others += 1
                continue
            summary.read += 1
            if isinstance(result, Reject):
                rejects.write(result)
                summary.rejected += 1
                key = result.reason.split(" (")[0].split(":")[0]
                summary.reject_reasons[key] = summary.reject_reasons.get(key, 0) + 1
                continue
            produced += 1
            yield result
    finally:
        validator.close()


def _batches(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(docs)
    while batch := list(islice(iterator, size)):
        yield batch


def run_ingest(
    source: Source,
    *,
    index: str,
    encoder: Encoder | None,
    target: IngestTarget | None,
    rejects_path: Path,
    metadata_fields: MetadataFields,
    index_options: IndexOptions = IndexOptions(),
    options: IngestOptions = IngestOptions(),
) -> IngestSummary:
    """Ingest ``source`` into ``index``. With ``options.dry_run``, only read and validate."""
    started = time.perf_counter()
    summary = IngestSummary(target="dry run" if options.dry_run or target is None else target.description,
                            rejects_path=rejects_path, dry_run=options.dry_run, worker=options.worker)
    progress = _progress(options)
    with RejectsWriter(rejects_path) as rejects:
        documents = _valid_documents(source, rejects, summary, options.limit, options.worker)
        if options.dry_run or target is None or encoder is None:
            for _ in documents:
                progress.update(1)
            summary.seconds = time.perf_counter() - started
            progress.close()
            return summary
        layout = encoder_layout(encoder, index_options.passage_overlap) if index_options.passages else None
        splitter = _splitter(encoder, layout)  # before the index exists: an encoder that cannot split fails here
        meta = IndexMeta(encoder.fingerprint, metadata_fields, "loading", encoder_source=encoder.spec.location,
                         encoder_runtime=encoder.runtime, passages=layout)
        target.open(index, meta, index_options, reindex=options.reindex, worker=options.worker)
        if target.meta.passages != layout:  # an existing index keeps the layout it was built with
            splitter = _splitter(encoder, target.meta.passages)
        summary.target = target.description
        writer = _Writer(target, options.queue_batches)
        writer.start()
        try:
            for batch in _batches(documents, options.batch_size or default_batch_size(encoder)):
                present = target.existing_ids([d.id for d in batch])
                todo = [d for d in batch if d.id not in present]
                summary.skipped += len(batch) - len(todo)
                if todo:
                    writer.submit(todo, _embedded(encoder, splitter, todo))
                progress.update(len(batch))
            writer.close()
            for failure in writer.failures:
                rejects.write(failure)
            summary.rejected += len(writer.failures)
            summary.indexed = writer.written
            finished = target.finish(force_merge=options.force_merge)
            summary.waiting_for, summary.made_live = finished.waiting_for, finished.made_live
        except BaseException as exc:
            if writer.is_alive():
                # Let the batches already encoded reach the index: a rerun then skips them.
                writer.jobs.put(None)
                writer.join(timeout=120)
            target.abort()
            if isinstance(exc, Exception) and not isinstance(exc, IngestError):
                # A lost cluster, a full disk, an encoder failure: one clear error; the cause stays attached.
                raise IngestError(f"stopped by {type(exc).__name__}: {exc}") from exc
            raise
        finally:
            progress.close()
        summary.index_count = target.count()
    summary.seconds = time.perf_counter() - started
    return summary


def _splitter(encoder: Encoder, layout: PassageLayout | None) -> PassageSplitter | None:
    return None if layout is None else PassageSplitter(encoder, layout)


def _embedded(encoder: Encoder, splitter: PassageSplitter | None, docs: list[Document]) -> list[DocumentVectors]:
    """The documents' passages embedded in one call (a document is one passage without a splitter)."""
    spans = splitter.split(docs) if splitter else [((0, len(d.text)),) for d in docs]
    return grouped(spans, encoder.encode_passages(passage_texts(docs, spans), show_progress=False))


def _progress(options: IngestOptions) -> Progress:
    total = options.expected_total if options.limit is None else min(options.limit, options.expected_total or options.limit)
    return progress(total, "ingest", "doc", enabled=options.show_progress)
