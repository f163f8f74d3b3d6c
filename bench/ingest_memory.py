"""Peak RSS of `hybrid ingest` as the corpus grows: generated corpora (``bench/corpus_gen.py``) of each
size, ingested by the real CLI in a subprocess of its own, into OpenSearch and into the embedded store.

The encoder is a stand-in: a 2-layer, 32-wide GPT-NeoX with random weights (deterministic), so the run
measures the pipeline and the engine, not a model; say so wherever the figures go. Each run's BM25
recall@10 on the planted queries checks that what was ingested is searchable.

    python bench/ingest_memory.py [--sizes 10000 100000] [--backends opensearch embedded]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.corpus_gen import generate  # noqa: E402
from bench.ingest_throughput import _node_url  # noqa: E402
from bench.machine import describe, header  # noqa: E402

MEASURE = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


def _ingest(corpus: Path, index: str, model: Path, env: dict[str, str]) -> dict[str, float]:
    command = [sys.executable, "-m", "hybrid", "ingest", str(corpus), "--format", "beir", "--index", index,
               "--model", str(model), "--metadata", "year:int", "--metadata", "journal", "--metadata", "mesh",
               "--replicas", "0", "--quiet", "--json", "--rejects", os.devnull]
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True,
                         check=True, timeout=6 * 3600)
    lines = out.stdout.strip().splitlines()
    summary = json.loads(lines[-2])
    return {"seconds": time.perf_counter() - started, "peak_rss_mib": int(lines[-1]) / 1024,
            "indexed": summary["indexed"], "docs_per_s": summary["docs_per_s"]}


def _recall(corpus: Path, index: str, env: dict[str, str]) -> float:
    qrels: dict[str, set[str]] = {}
    for line in (corpus / "qrels" / "planted.tsv").read_text().splitlines()[1:]:
        query, doc, _ = line.split("\t")
        qrels.setdefault(query, set()).add(doc)
    queries = {json.loads(line)["_id"]: json.loads(line)["text"]
               for line in (corpus / "queries.jsonl").read_text().splitlines()}
    found = 0
    for qid in sorted(qrels)[:50]:
        out = subprocess.run([sys.executable, "-m", "hybrid", "search", queries[qid], "--index", index, "--mode",
                              "bm25", "--json"], env=env, capture_output=True, text=True, check=True, timeout=600)
        hits = {hit["doc_id"] for hit in json.loads(out.stdout)["hits"]}
        found += len(hits & qrels[qid])
    return found / sum(len(qrels[q]) for q in sorted(qrels)[:50])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["opensearch", "embedded"])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl")
    parser.add_argument("--work", type=Path, default=None, help="where generated corpora are kept (default: temporary)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest_memory.json")
    args = parser.parse_args()
    from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

    info = describe("stand-in encoder: tiny random GPT-NeoX (2 layers, 32 wide), torch fp32")
    print(header(info))
    url, node = _node_url() if "opensearch" in args.backends else (None, None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        model = save_tiny_gpt_neox(Path(tmp) / "tiny-neox")
        try:
            for size in args.sizes:
                corpus = work / f"gen-{size}"
                if not (corpus / "corpus.jsonl").exists():
                    generate(corpus, docs=size, queries=200, relevant=3, seed=7, source=args.source)
                for backend in args.backends:
                    env = {**os.environ, "HYBRID_EMBEDDED_DIR": str(Path(tmp) / "embedded")}
                    env.pop("HYBRID_OPENSEARCH_URL", None)
                    if backend == "opensearch":
                        env["HYBRID_OPENSEARCH_URL"] = str(url)
                    index = f"bench-mem-{size}"
                    row = {"backend": backend, "docs": size, **_ingest(corpus, index, model, env)}
                    row["bm25_recall_at_10"] = _recall(corpus, index, env)
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
        finally:
            if node is not None:
                node.purge()  # type: ignore[attr-defined]
    print(f"\n{'backend':10} {'docs':>9} {'peak RSS MiB':>12} {'docs/s':>8} {'BM25 recall@10 (planted)':>24}")
    for r in rows:
        print(f"{r['backend']:10} {r['docs']:9d} {r['peak_rss_mib']:12.0f} {r['docs_per_s']:8.0f} "
              f"{r['bm25_recall_at_10']:24.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": info, "rows": rows}, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
