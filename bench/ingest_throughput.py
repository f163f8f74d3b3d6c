"""Ingest throughput into OpenSearch (MiniLM on CPU): our pipeline vs. encode-only vs. a naive loop,
and peak RSS at 1x and 4x the corpus (SciFact repeated with new ids).

Each mode runs in its own subprocess, one after another in the same run, against the same node:
``HYBRID_OPENSEARCH_URL`` if set, else a local node started with the manager (and stopped after).

    python bench/ingest_throughput.py [--data DIR] [--scales 1 4] [--naive-scale 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header, write_report  # noqa: E402


def write_scaled_corpus(data: Path, scale: int, out: Path) -> int:
    """SciFact repeated ``scale`` times; copy k > 0 gets ids ``<id>-r<k>``. Returns the document count."""
    lines = (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for copy in range(scale):
            for line in lines:
                row = json.loads(line)
                if copy:
                    row["_id"] = f"{row['_id']}-r{copy}"
                fh.write(json.dumps(row) + "\n")
                count += 1
    return count


def _worker(mode: str, corpus: Path, url: str, index: str, out: Path) -> None:
    from hybrid.backends.base import IndexOptions
    from hybrid.backends.opensearch.target import OpenSearchTarget
    from hybrid.encoders import load_encoder
    from hybrid.index_meta import IndexMeta
    from hybrid.ingest.pipeline import IngestOptions, run_ingest
    from hybrid.ingest.sources import open_source
    from hybrid.ingest.validate import Validator
    from hybrid.passages import DocumentVectors
    from hybrid.recipes import passage_text
    from hybrid.settings import load_settings

    settings = load_settings(opensearch_url=url)
    from hybrid.backends.opensearch.client import make_client

    client = make_client(settings)
    encoder = load_encoder("minilm", device="cpu")
    encoder.encode_passages(["warm-up"])
    batch_size = 64
    started = time.perf_counter()
    n = 0
    if mode == "pipeline":
        source = open_source(corpus, "beir")
        summary = run_ingest(source, index=index, encoder=encoder, target=OpenSearchTarget(client),
                             rejects_path=out.with_suffix(".rejects"), metadata_fields={},
                             index_options=IndexOptions(replicas=0), options=IngestOptions(batch_size=batch_size))
        n = summary.indexed
    else:
        from opensearchpy import helpers

        source = open_source(corpus, "beir")
        validate = Validator(source.fields)
        batch: list = []
        target = None
        if mode == "naive":
            target = OpenSearchTarget(client)
            target.open(index, IndexMeta(encoder.fingerprint), IndexOptions(replicas=0), reindex=False)

        def flush(docs: list) -> None:
            vectors = encoder.encode_passages([passage_text(d.title, d.text) for d in docs], show_progress=False)
            if target is not None:
                whole = [DocumentVectors.whole(d.text, v) for d, v in zip(docs, vectors)]
                helpers.bulk(client, target._actions(docs, whole), chunk_size=500)

        for raw in source.records:
            doc = validate(raw)
            if hasattr(doc, "reason"):
                continue
            batch.append(doc)
            n += 1
            if len(batch) == batch_size:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
        if target is not None:
            target.finish()
    seconds = time.perf_counter() - started
    out.write_text(json.dumps({
        "mode": mode, "docs": n, "seconds": seconds, "docs_per_s": n / seconds, "runtime": encoder.runtime,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def _node_url() -> tuple[str, object | None]:
    url = os.environ.get("HYBRID_OPENSEARCH_URL")
    if url:
        return url, None
    from hybrid.local_opensearch import manager_for
    from hybrid.settings import load_settings

    manager = manager_for(load_settings())
    manager.install()
    info = manager.start("bench-ingest", heap_mb=1024, timeout_s=240)
    return info.url, manager.node("bench-ingest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest_throughput.json")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, corpus, url, index = args.worker
        _worker(mode, Path(corpus), url, index, Path(os.environ["BENCH_OUT"]))
        return

    url, node = _node_url()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [("encode-only", 1), ("pipeline", 1), ("naive", 1)] + [("pipeline", s) for s in args.scales if s != 1]
            for mode, scale in runs:
                corpus = Path(tmp) / f"corpus-x{scale}.jsonl"
                if not corpus.exists():
                    write_scaled_corpus(args.data, scale, corpus)
                index = f"bench-ingest-{mode}-x{scale}-{os.getpid()}"
                out = Path(tmp) / "result.json"
                print(f"running: {mode} at {scale}x", file=sys.stderr, flush=True)
                env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "BENCH_OUT": str(out)}
                subprocess.run([sys.executable, __file__, "--worker", mode, str(corpus), url, index],
                               check=True, env=env, stdout=subprocess.DEVNULL)
                result = json.loads(out.read_text())
                result["scale"] = scale
                results.append(result)
                subprocess.run(["curl", "-s", "-XDELETE", f"{url}/{index}*"], capture_output=True)
    finally:
        if node is not None:
            node.purge()  # type: ignore[attr-defined]

    encode_only = next(r for r in results if r["mode"] == "encode-only")
    machine = describe(str(encode_only["runtime"]))
    print(f"\n{header(machine)}")
    print(f"{'mode':14} {'scale':>5} {'docs':>6} {'docs/s':>7} {'vs encode-only':>14} {'peak RSS MiB':>12}")
    for r in results:
        r["ratio_vs_encode_only"] = r["docs_per_s"] / encode_only["docs_per_s"]
        print(f"{r['mode']:14} {r['scale']:>4}x {r['docs']:6d} {r['docs_per_s']:7.1f} "
              f"{r['ratio_vs_encode_only']:13.2f}x {r['peak_rss_mib']:12.0f}")
    write_report(args.out, {"machine": machine, "results": results})


if __name__ == "__main__":
    main()
