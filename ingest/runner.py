"""Ingest a source into an index of the backend the settings chose: load the encoder, open the target,
run the pipeline, close. What ``hybrid ingest`` and ``hybrid eval --ingest`` both call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.backends.base import Backend, IndexOptions, check_index_name
from hybrid.ingest.pipeline import IngestOptions, IngestSummary, run_ingest
from hybrid.ingest.sources import Source

if TYPE_CHECKING:
    from hybrid.encoders import Encoder
    from hybrid.encoders.device import Precision


def ingest_source(
    backend: Backend,
    source: Source,
    *,
    index: str,
    model: str,
    device: str | None,
    rejects_path: Path,
    precision: Precision = "auto",
    index_options: IndexOptions = IndexOptions(),
    options: IngestOptions = IngestOptions(),
) -> IngestSummary:
    """Read, validate, encode with ``model`` and index ``source`` into ``index`` (a dry run only reads)."""
    check_index_name(index)
    if options.dry_run:
        return run_ingest(source, index=index, encoder=None, target=None, rejects_path=rejects_path,
                          metadata_fields=dict(source.fields.metadata), options=options)
    from hybrid.encoders import load_encoder

    encoder = load_encoder(model, device=device, precision=precision)
    target = backend.ingest_target()
    try:
        summary = run_ingest(source, index=index, encoder=encoder, target=target, rejects_path=rejects_path,
                             metadata_fields=dict(source.fields.metadata), index_options=index_options, options=options)
    finally:
        target.close()
    if summary.made_live:  # a worker whose split load is not complete leaves this to the last one
        recalibrate(backend, index, encoder, changed=summary.indexed > 0 or summary.worker is not None)
    return summary


def recalibrate(backend: Backend, index: str, encoder: Encoder, *, changed: bool) -> None:
    """Measure both sides of the index on pseudo-queries (adaptive fusion's weights) when its documents
    changed or it was never measured; the result goes into the index's record."""
    from hybrid.retrieval import Searcher
    from hybrid.retrieval.calibration import calibrate

    search = backend.search(index)
    try:
        if not changed and search.index_meta().calibration is not None:
            return
        calibration = calibrate(Searcher(search, encoder))
    finally:
        search.close()
    if calibration is not None:
        backend.update_record(index, {"calibration": calibration.to_record()})
