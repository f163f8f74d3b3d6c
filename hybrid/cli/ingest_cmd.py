"""``hybrid ingest SOURCE``: documents into an OpenSearch k-NN index or the embedded store.

Exit status: 0 when the run finished (rejects, if any, are in the rejects file); 1 when it stopped
part-way (rerunning resumes) or when every record read was rejected; other errors as in
``hybrid.cli.errors``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hybrid.backends.base import VECTOR_COMPRESSIONS
from hybrid.cli.common import add_connection_flags, backend_from, positive_int, settings_from
from hybrid.cli.errors import INCOMPLETE, OK
from hybrid.data import SAMPLE_NAME, data_path
from hybrid.progress import on_terminal


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ingest",
        help="index documents (BM25 fields + dense vectors) into OpenSearch or the embedded store",
        description="Read, validate, encode and index documents. Rerun the same command to resume.",
    )
    p.add_argument("source", help=f"file or folder (BEIR corpus.jsonl, JSONL, CSV/TSV, PubMed XML[.gz]); "
                                  f"'{SAMPLE_NAME}' = the bundled SciFact sample")
    p.add_argument("--index", help="index (alias) name (default: settings 'index', 'biomed')")
    p.add_argument("--format", default="auto", choices=["auto", "beir", "jsonl", "csv", "pubmed"])
    p.add_argument("--id-field", default=None, help="field with the document id (default: the format's; 'id', BEIR '_id')")
    p.add_argument("--title-field", default=None, help="field with the title (default 'title')")
    p.add_argument("--text-field", default=None, help="field with the body text (default 'text')")
    p.add_argument("--metadata", action="append", default=[], metavar="FIELD[:int]",
                   help="filterable metadata field (keyword, or integer with ':int'), added to the format's; repeatable")
    p.add_argument("--model", help="encoder preset, path or hub name (default 'minilm')")
    p.add_argument("--device", help="cuda, cpu … (default: CUDA when present)")
    p.add_argument("--batch-size", type=positive_int,
                   help="documents per encode/bulk batch (default 64 on a CPU, twice the encoder's batch on a GPU)")
    p.add_argument("--rejects", type=Path, help="rejects JSONL (default ./rejects-<index>.jsonl)")
    p.add_argument("--reindex", action="store_true", help="build a new index and swap the alias when done")
    p.add_argument("--force-merge", action="store_true", help="force-merge to one segment at the end")
    p.add_argument("--dry-run", action="store_true", help="read and validate only; write nothing")
    p.add_argument("--limit", type=positive_int, help="stop after this many valid documents")
    p.add_argument("--shards", type=positive_int, default=1)
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--hnsw-m", type=positive_int, default=16)
    p.add_argument("--hnsw-ef-construction", type=positive_int, default=100)
    p.add_argument("--vector-compression", choices=list(VECTOR_COMPRESSIONS), default="none",
                   help="OpenSearch: 'sq' (Lucene scalar-quantised int7, about 4x smaller); embedded: 'fp16' or "
                        "'int8' (memory-mapped matrix 2x or 4x smaller); fixed when the index is created")
    p.add_argument("--passages", action=argparse.BooleanOptionalAction, default=True,
                   help="split documents longer than the encoder's window into overlapping passages, one vector "
                        "each; a document's dense score is its best passage's (default on; --no-passages: one "
                        "vector per document, the encoder reads its start); fixed when the index is created")
    p.add_argument("--passage-overlap", type=int, metavar="TOKENS", default=None,
                   help="tokens neighbouring passages share (default a quarter of the encoder's window)")
    p.add_argument("--worker", metavar="I/N", type=worker_share, default=None,
                   help="OpenSearch: be worker I of N splitting this input (by id hash) into one index; run all "
                        "N with the same arguments; the index goes live (alias swapped) when the last finishes")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_connection_flags(p)
    p.set_defaults(handler=run)


def _count_lines(path: Path) -> int | None:
    """Cheap total for the progress bar's ETA (plain JSONL/CSV files only)."""
    if path.is_dir():
        path = path / "corpus.jsonl"
    if not path.is_file() or path.suffix == ".gz" or path.suffix == ".xml":
        return None
    with path.open("rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))


def run(args: argparse.Namespace) -> int:
    from hybrid.backends.base import IndexOptions
    from hybrid.ingest.pipeline import IngestOptions
    from hybrid.ingest.runner import ingest_source
    from hybrid.ingest.sources import FieldOverrides, open_source, parse_metadata
    from hybrid.recipes import DEFAULT_MODEL

    settings = settings_from(args, index=args.index, model=args.model, device=args.device)
    path = data_path(args.source)
    overrides = FieldOverrides(args.id_field, args.title_field, args.text_field, parse_metadata(args.metadata))
    source = open_source(path, args.format, overrides)
    index_options = IndexOptions(args.shards, args.replicas, "1s", args.hnsw_m, args.hnsw_ef_construction,
                                 args.vector_compression, args.passages, args.passage_overlap)
    options = IngestOptions(
        batch_size=args.batch_size, limit=args.limit, dry_run=args.dry_run, reindex=args.reindex,
        force_merge=args.force_merge, show_progress=not args.quiet and on_terminal(json_output=args.json),
        expected_total=_count_lines(path), worker=args.worker,
    )
    model = settings.model or DEFAULT_MODEL
    backend = backend_from(settings)
    try:
        print(f"ingesting {path} into '{settings.index}' on {backend.description}"
              f"{'' if args.dry_run else f' with {model}'}", file=sys.stderr)
        summary = ingest_source(backend, source, index=settings.index, model=model, device=settings.device,
                                precision=settings.precision,
                                rejects_path=args.rejects or Path(f"rejects-{settings.index}.jsonl"),
                                index_options=index_options, options=options)
    finally:
        backend.close()
    print_summary(summary, as_json=args.json)
    return exit_code(summary)


def worker_share(text: str):  # type: ignore[no-untyped-def]
    from hybrid.ingest.shares import WorkerShare

    try:
        return WorkerShare.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def exit_code(summary) -> int:  # type: ignore[no-untyped-def]
    return INCOMPLETE if summary.nothing_usable else OK


def print_summary(summary, *, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    data = {
        "target": summary.target, "read": summary.read, "indexed": summary.indexed, "skipped": summary.skipped,
        "rejected": summary.rejected, "seconds": round(summary.seconds, 2), "docs_per_s": round(summary.docs_per_s, 1),
        "index_count": summary.index_count, "dry_run": summary.dry_run, "reject_reasons": summary.reject_reasons,
        "rejects_file": str(summary.rejects_path) if summary.rejected else None,
    }
    if summary.worker is not None:
        data.update({"worker": str(summary.worker), "other_workers_records": summary.others,
                     "waiting_for_workers": list(summary.waiting_for), "made_live": summary.made_live})
    if as_json:
        print(json.dumps(data))
        return
    verb = "would index" if summary.dry_run else "indexed"
    print(f"{verb} {summary.indexed if not summary.dry_run else summary.read - summary.rejected}, "
          f"skipped {summary.skipped} (already present), rejected {summary.rejected} "
          f"in {summary.seconds:.1f}s ({summary.docs_per_s:.1f} docs/s) → {summary.target}")
    if summary.index_count is not None:
        print(f"the index now holds {summary.index_count} documents")
    if summary.worker is not None:
        print(f"worker {summary.worker}: {summary.others} records left to the other workers; " + (
            f"the index goes live when worker{'s' if len(summary.waiting_for) > 1 else ''} "
            f"{', '.join(map(str, summary.waiting_for))} finish" if summary.waiting_for else
            "every share is in: the index is live" if summary.made_live else
            "every share is in: another worker is making the index live"))
    if summary.rejected:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary.reject_reasons.items()))
        print(f"rejects ({reasons}) written to {summary.rejects_path}")
    if summary.nothing_usable:
        print(f"every one of the {summary.read} records read was rejected: check --format and the field flags "
              "against the rejects file", file=sys.stderr)
