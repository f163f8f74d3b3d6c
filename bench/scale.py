"""Cost curves from SciFact-sized to PubMed-sized: generated corpora (``bench/corpus_gen.py``) of each size
ingested by the real CLI into the local OpenSearch node and into the embedded store, then measured.

Per backend, size and vector storage: ingest docs/s and peak RSS of `hybrid ingest`, disk per document,
the node's heap and RSS (OpenSearch) or what opening the index and searching it add to the searching
process's anonymous RSS (embedded: its vectors and postings are memory-mapped files, which the page
cache holds, not the process), search p50/p95 of whole
searches (bm25, dense, hybrid; page of 10, windows 100, query encoding included), dense recall@10 against
exact search (OpenSearch: HNSW at several ``ef_search`` values against the k-NN plugin's exact scoring
script over the same index's raw vectors; embedded: compressed vectors against the float32 index of the same corpus), and BM25 recall@10 of
the planted queries (whether what was ingested is findable).

The encoder is ``bench/standin.py``'s 1-layer random GPT-NeoX (64-d vectors): it measures the engine, not a
model. ``--minilm SIZE`` adds one real-MiniLM row (384-d) at that size. Each measurement runs in a process of
its own; rows go to WORK/rows.jsonl as they finish, so a rerun resumes and ``--report`` redraws the table,
JSON and PNG from what is there.

    python bench/scale.py [--work DIR] [--backends opensearch embedded] [--sizes 10000 100000 1000000]
                          [--embedded-max 300000] [--compressed-max 100000] [--minilm 10000] [--report]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.corpus_gen import generate  # noqa: E402
from bench.machine import describe, header, p50_p95_ms  # noqa: E402

EF_VALUES = (10, 100, 400)
VARIANTS = {"opensearch": ("none", "sq"), "embedded": ("none", "fp16", "int8")}
QUERIES = 100  # planted queries searched per row (recall and latency)
MEASURE = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


def _index(size: int, variant: str, model: str) -> str:
    return f"scale-{size}-{variant}-{model}"


def _ingest(corpus: Path, index: str, model: Path | str, variant: str, env: dict[str, str]) -> dict[str, float]:
    command = [sys.executable, "-m", "hybrid", "ingest", str(corpus), "--format", "beir", "--index", index,
               "--model", str(model), "--metadata", "year:int", "--metadata", "journal", "--metadata", "mesh",
               "--replicas", "0", "--quiet", "--json", "--rejects", os.devnull, "--batch-size", "256",
               "--no-passages"]  # the engine at one vector per document, as the curves were measured
    if variant != "none":
        command += ["--vector-compression", variant]
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], env=env, capture_output=True, text=True,
                         timeout=6 * 3600)
    if out.returncode != 0:
        raise SystemExit(f"ingest of {index} failed:\n{out.stderr[-3000:]}")
    lines = out.stdout.strip().splitlines()
    summary = json.loads(lines[-2])
    return {"ingest_s": time.perf_counter() - started, "ingest_peak_rss_mib": int(lines[-1]) / 1024,
            "indexed": summary["indexed"], "ingest_docs_per_s": summary["docs_per_s"]}


def _planted(corpus: Path) -> tuple[list[str], list[set[str]]]:
    qrels: dict[str, set[str]] = {}
    for line in (corpus / "qrels" / "planted.tsv").read_text().splitlines()[1:]:
        query, doc, _ = line.split("\t")
        qrels.setdefault(query, set()).add(doc)
    texts = {json.loads(line)["_id"]: json.loads(line)["text"] for line in (corpus / "queries.jsonl").read_text().splitlines()}
    qids = sorted(qrels)[:QUERIES]
    return [texts[q] for q in qids], [qrels[q] for q in qids]


def _ms(samples: list[float]) -> dict[str, float]:
    p50, p95 = p50_p95_ms(samples)
    return {"p50": p50, "p95": p95}


def _rss_mib(pid: int | str = "self") -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def _searches(searcher, texts: list[str], truth: list[set[str]]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from hybrid.retrieval import SearchRequest

    out: dict[str, object] = {}
    for mode in ("bm25", "dense", "hybrid"):
        for text in texts[:30]:  # warm-up (a node's JIT, the page cache)
            searcher.search(SearchRequest(text, mode=mode))
        took, found = [], 0
        for text, relevant in zip(texts, truth):
            started = time.perf_counter()
            page = searcher.search(SearchRequest(text, mode=mode))
            took.append(time.perf_counter() - started)
            found += len({hit.doc_id for hit in page.hits} & relevant)
        out[f"{mode}_ms"] = _ms(took)
        if mode == "bm25":
            out["bm25_planted_recall_at_10"] = found / sum(len(r) for r in truth)
    return out


def _opensearch_exact(client, index: str, vectors) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Exact top 10 by the k-NN plugin's scoring script (a brute-force scan of every vector)."""
    from hybrid.backends.opensearch.mapping import VECTOR_FIELD

    mapping = next(iter(client.indices.get_mapping(index=index).values()))["mappings"]
    space = mapping["properties"][VECTOR_FIELD]["method"]["space_type"]
    out = []
    for vector in vectors:
        body = {"size": 10, "_source": ["doc_id"], "query": {"script_score": {
            "query": {"match_all": {}},
            "script": {"source": "knn_score", "lang": "knn", "params": {
                "field": VECTOR_FIELD, "query_value": [float(x) for x in vector], "space_type": space}}}}}
        answer = client.search(index=index, body=body, request_timeout=600)
        out.append([hit["_source"]["doc_id"] for hit in answer["hits"]["hits"]])
    return out


def _node_figures(client) -> dict[str, float]:  # type: ignore[no-untyped-def]
    stats = next(iter(client.nodes.stats(metric="jvm")["nodes"].values()))
    pid = next(iter(client.nodes.info(metric="process")["nodes"].values()))["process"]["id"]
    return {"node_heap_used_mib": stats["jvm"]["mem"]["heap_used_in_bytes"] / 2**20,
            "node_heap_max_mib": stats["jvm"]["mem"]["heap_max_in_bytes"] / 2**20,
            "node_rss_mib": _rss_mib(pid)["VmRSS"]}


def measure_opensearch(corpus: Path, index: str, exact_index: str, url: str) -> dict[str, object]:
    from hybrid.backends.opensearch.client import make_client
    from hybrid.backends.opensearch.queries import knn_body, ranked_list
    from hybrid.backends.opensearch.search import OpenSearchSearch
    from hybrid.encoders import encoder_for_index
    from hybrid.retrieval import Searcher
    from hybrid.settings import load_settings

    client = make_client(load_settings(opensearch_url=url))
    concrete = next(iter(client.indices.get_alias(index=index)))
    meta = OpenSearchSearch(client, index).index_meta()
    encoder = encoder_for_index(meta, device="cpu")
    texts, truth = _planted(corpus)
    row: dict[str, object] = _searches(Searcher(OpenSearchSearch(client, index), encoder), texts, truth)
    vectors = encoder.encode_queries(texts)
    exact = _opensearch_exact(client, exact_index, vectors)
    recall = {}
    for ef in EF_VALUES:
        hits = [{d for d, _ in ranked_list(client.search(index=index, body=knn_body(v, 10, (), ef)))} for v in vectors]
        recall[str(ef)] = statistics.mean(len(h & set(e)) / 10 for h, e in zip(hits, exact))
    row["dense_recall_at_10"] = recall
    store = client.cat.indices(index=concrete, format="json", bytes="b", h="pri.store.size,docs.count")[0]
    row["disk_bytes_per_doc"] = int(store["pri.store.size"]) / max(1, int(store["docs.count"]))
    row["segments"] = len(client.cat.segments(index=concrete, format="json"))
    row.update(_node_figures(client))
    return row


def measure_embedded(corpus: Path, index: str, exact_index: str, root: Path) -> dict[str, object]:
    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.backends.embedded.store import EmbeddedRoot
    from hybrid.encoders import encoder_for_index
    from hybrid.retrieval import Searcher, SearchRequest

    probe = EmbeddedSearch(root, index)
    encoder = encoder_for_index(probe.index_meta(), device="cpu")  # loaded first: its memory is not the index's
    probe.close()
    texts, truth = _planted(corpus)
    before = _rss_mib()
    search = EmbeddedSearch(root, index)
    opened = _rss_mib()
    searcher = Searcher(search, encoder)
    row: dict[str, object] = _searches(searcher, texts, truth)
    after = _rss_mib()
    row["search_rss_anon_mib"] = after["RssAnon"] - before["RssAnon"]
    row["search_rss_file_mib"] = after["RssFile"] - before["RssFile"]
    row["open_rss_anon_mib"] = opened["RssAnon"] - before["RssAnon"]
    if exact_index != index:
        exact = Searcher(EmbeddedSearch(root, exact_index), encoder)
        pairs = [({h.doc_id for h in exact.search(SearchRequest(t, mode="dense")).hits},
                  {h.doc_id for h in searcher.search(SearchRequest(t, mode="dense")).hits}) for t in texts]
        row["dense_recall_at_10"] = {"exact": statistics.mean(len(a & b) / max(1, len(a)) for a, b in pairs)}
    else:
        row["dense_recall_at_10"] = {"exact": 1.0}
    folder = EmbeddedRoot(root).require(index)
    row["disk_bytes_per_doc"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / search.count()
    return row


def _measure_in_child(args: argparse.Namespace, backend: str, corpus: Path, index: str, exact_index: str,
                      where: str) -> dict[str, object]:
    command = [sys.executable, str(Path(__file__)), "--measure", backend, str(corpus), index, exact_index, where]
    out = subprocess.run(command, capture_output=True, text=True, timeout=3 * 3600)
    if out.returncode != 0:
        raise SystemExit(f"measuring {index} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def scan_costs(work: Path, sizes: list[int], dimensions: list[int]) -> list[dict[str, object]]:
    """The embedded dense side's cost at real encoder widths: ``VectorMatrix.similarity`` (the exact
    scan every embedded dense query does) over memory-mapped random matrices, warm page cache."""
    import numpy as np

    from hybrid.backends.embedded.vectors import VectorMatrix, VectorWriter

    rows = []
    rng = np.random.default_rng(0)
    for dimension in dimensions:
        for size in sizes:
            for compression in ("none", "fp16", "int8"):
                folder = work / "scan" / f"{dimension}-{size}-{compression}"
                if not (folder / "vectors.npy").exists():
                    folder.mkdir(parents=True, exist_ok=True)
                    writer = VectorWriter(folder, size, dimension, compression, cosine=True)
                    for start in range(0, size, 10_000):
                        block = rng.normal(size=(min(10_000, size - start), dimension)).astype(np.float32)
                        for vector in block:
                            writer.add(vector)
                    writer.finish()
                matrix = VectorMatrix(folder, cosine=True)
                queries = rng.normal(size=(23, dimension)).astype(np.float32)
                for query in queries[:3]:
                    matrix.similarity(query)
                took = []
                for query in queries[3:]:
                    started = time.perf_counter()
                    matrix.similarity(query)
                    took.append(time.perf_counter() - started)
                rows.append({"dimension": dimension, "docs": size, "vectors": compression, "scan_ms": _ms(took),
                             "matrix_mb": (folder / "vectors.npy").stat().st_size / 1e6})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    shutil.rmtree(work / "scan", ignore_errors=True)
    return rows


def _rows(work: Path) -> list[dict[str, object]]:
    path = work / "rows.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run(args: argparse.Namespace) -> None:
    from bench.ingest_throughput import _node_url
    from bench.standin import corpus_words, save_standin

    args.work.mkdir(parents=True, exist_ok=True)
    standin = args.work / "standin"
    if not (standin / "config.json").exists():
        save_standin(standin, corpus_words(args.source))
    done = {(r["backend"], r["docs"], r["vectors"], r["model"]) for r in _rows(args.work)}
    url, node = _node_url() if "opensearch" in args.backends else (None, None)
    plan = [(b, s, v, "standin") for s in args.sizes for b in args.backends for v in VARIANTS[b]
            if (b != "embedded" or s <= args.embedded_max) and (v == "none" or s <= args.compressed_max)]
    plan += [(b, args.minilm, "none", "minilm") for b in args.backends] if args.minilm else []
    try:
        for backend, size, variant, model in plan:
            if (backend, size, variant, model) in done:
                continue
            corpus = args.work / f"gen-{size}"
            if not (corpus / "qrels" / "planted.tsv").exists():  # written last: a killed generation starts again
                shutil.rmtree(corpus, ignore_errors=True)
                generate(corpus, docs=size, queries=200, relevant=3, seed=7, source=args.source)
            env = {**os.environ, "HYBRID_EMBEDDED_DIR": str(args.work / "embedded")}
            env.pop("HYBRID_OPENSEARCH_URL", None)
            if backend == "opensearch":
                env["HYBRID_OPENSEARCH_URL"] = str(url)
            index = _index(size, variant, model)
            print(f"{backend} {size} {variant} {model}: ingesting", file=sys.stderr, flush=True)
            row: dict[str, object] = {"backend": backend, "docs": size, "vectors": variant, "model": model}
            row.update(_ingest(corpus, index, standin if model == "standin" else model, variant, env))
            where = str(url) if backend == "opensearch" else str(args.work / "embedded")
            # OpenSearch's exact reference is the index itself: Lucene keeps each segment's raw float32
            # vectors beside the quantised copy, and the scoring script reads the raw ones.
            exact_index = index if backend == "opensearch" else _index(size, "none", model)
            row.update(_measure_in_child(args, backend, corpus, index, exact_index, where))
            print(json.dumps(row), file=sys.stderr, flush=True)
            with (args.work / "rows.jsonl").open("a") as rows:
                rows.write(json.dumps(row) + "\n")
    finally:
        if node is not None and not args.keep_node:
            node.purge()  # type: ignore[attr-defined]
        if not args.keep_indices:
            shutil.rmtree(args.work / "embedded", ignore_errors=True)


def _growth(rows: list[dict[str, object]], key) -> str:  # type: ignore[no-untyped-def]
    """Per 10x documents: the ratio of ``key(row)`` between consecutive sizes, normalised to a 10x step."""
    points = sorted((r["docs"], key(r)) for r in rows)
    if len(points) < 2:
        return "-"
    (n0, v0), (n1, v1) = points[0], points[-1]
    if not v0 or not v1:
        return "-"
    return f"x{(v1 / v0) ** (1 / math.log10(n1 / n0)):.2f}"


def report(args: argparse.Namespace) -> None:
    rows = _rows(args.work)
    info = describe("stand-in encoder: 1-layer random GPT-NeoX, 64-d (bench/standin.py); MiniLM rows: "
                    "ONNX Runtime int8 passages")
    print(header(info))
    ef = "/".join(str(e) for e in EF_VALUES)
    print(f"\n{'backend':10} {'docs':>8} {'vectors':7} {'model':7} {'ingest/s':>8} {'ingest RSS':>10} {'B/doc':>7} "
          f"{'node heap/RSS MiB':>17} {'search anon MiB':>15} {'bm25 p50/p95':>13} {'dense p50/p95':>13} "
          f"{'hybrid p50/p95':>14} {'recall@10 (ef ' + ef + ')':>24} {'planted':>7}")
    for r in sorted(rows, key=lambda r: (r["backend"], r["model"], r["vectors"], r["docs"])):
        node = (f"{r['node_heap_used_mib']:.0f}/{r['node_rss_mib']:.0f}" if "node_rss_mib" in r else "-")
        anon = f"{r['search_rss_anon_mib']:.0f}" if "search_rss_anon_mib" in r else "-"
        recall = "/".join(f"{v:.3f}" for v in r["dense_recall_at_10"].values())  # type: ignore[union-attr]
        lat = {m: f"{r[m + '_ms']['p50']:.1f}/{r[m + '_ms']['p95']:.1f}" for m in ("bm25", "dense", "hybrid")}  # type: ignore[index]
        print(f"{r['backend']:10} {r['docs']:8d} {r['vectors']:7} {r['model']:7} {r['ingest_docs_per_s']:8.0f} "
              f"{r['ingest_peak_rss_mib']:10.0f} {r['disk_bytes_per_doc']:7.0f} {node:>17} {anon:>15} "
              f"{lat['bm25']:>13} {lat['dense']:>13} {lat['hybrid']:>14} {recall:>24} "
              f"{r['bm25_planted_recall_at_10']:7.3f}")
    growth = {}
    print("\ngrowth per 10x documents (stand-in rows, smallest to largest size measured)")
    for backend in sorted({r["backend"] for r in rows}):
        mine = [r for r in rows if r["backend"] == backend and r["vectors"] == "none" and r["model"] == "standin"]
        measures = {
            "ingest docs/s": lambda r: r["ingest_docs_per_s"],
            "ingest peak RSS": lambda r: r["ingest_peak_rss_mib"],
            "disk per doc": lambda r: r["disk_bytes_per_doc"],
            "bm25 p50": lambda r: r["bm25_ms"]["p50"],
            "dense p50": lambda r: r["dense_ms"]["p50"],
            "hybrid p50": lambda r: r["hybrid_ms"]["p50"],
        }
        if backend == "opensearch":
            measures["node RSS"] = lambda r: r["node_rss_mib"]
        else:
            measures["search anon RSS"] = lambda r: r["search_rss_anon_mib"]
        growth[backend] = {name: _growth(mine, fn) for name, fn in measures.items()}
        print(f"  {backend:10} " + ", ".join(f"{k} {v}" for k, v in growth[backend].items()))
    scan = json.loads((args.work / "scan.json").read_text()) if (args.work / "scan.json").exists() else []
    if scan:
        print("\nembedded dense scan (exact, memory-mapped, warm page cache), p50 / p95 ms per query")
        print(f"{'dimension':>9} {'docs':>9} {'vectors':7} {'matrix MB':>9} {'p50':>8} {'p95':>8}")
        for r in scan:
            print(f"{r['dimension']:9d} {r['docs']:9d} {r['vectors']:7} {r['matrix_mb']:9.0f} {r['scan_ms']['p50']:8.1f} "
                  f"{r['scan_ms']['p95']:8.1f}")
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "queries_per_row": QUERIES, "rows": rows, "growth_per_10x": growth,
                               "embedded_dense_scan": scan}, indent=1) + "\n")
    _plot(rows, out.with_suffix(".png"))
    print(f"\nwrote {out} and {out.with_suffix('.png')}")


def _plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("ingest docs/s", lambda r: r["ingest_docs_per_s"]),
              ("ingest peak RSS (MiB)", lambda r: r["ingest_peak_rss_mib"]),
              ("disk bytes per document", lambda r: r["disk_bytes_per_doc"]),
              ("hybrid search p50 (ms)", lambda r: r["hybrid_ms"]["p50"]),
              ("dense search p50 (ms)", lambda r: r["dense_ms"]["p50"]),
              ("bm25 search p50 (ms)", lambda r: r["bm25_ms"]["p50"])]
    figure, axes = plt.subplots(2, 3, figsize=(14, 8))
    for ax, (title, fn) in zip(axes.flat, panels):
        for backend in sorted({r["backend"] for r in rows}):
            for variant in VARIANTS[str(backend)]:
                mine = sorted((r for r in rows if r["backend"] == backend and r["vectors"] == variant
                               and r["model"] == "standin"), key=lambda r: r["docs"])  # type: ignore[arg-type,return-value]
                if mine:
                    ax.plot([r["docs"] for r in mine], [fn(r) for r in mine], marker="o", label=f"{backend} {variant}")
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)  # growth read against zero, not against a zoomed axis
        ax.set_title(title)
        ax.set_xlabel("documents")
        ax.grid(True, alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    figure.suptitle("hybrid at scale: generated PubMed-like corpora, stand-in 64-d encoder")
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "hybrid-scale")
    parser.add_argument("--backends", nargs="+", default=["opensearch", "embedded"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--embedded-max", type=int, default=300_000, help="largest embedded size measured")
    parser.add_argument("--compressed-max", type=int, default=100_000, help="largest size with compressed rows")
    parser.add_argument("--minilm", type=int, default=10_000, help="size of the real-MiniLM rows (0: none)")
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl")
    parser.add_argument("--keep-node", action="store_true")
    parser.add_argument("--keep-indices", action="store_true")
    parser.add_argument("--report", action="store_true", help="only redraw the table, JSON and PNG from WORK")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    parser.add_argument("--scan", action="store_true", help="also time the embedded dense scan at 384 and 1024 "
                        "dimensions (100K / 300K / 1M random vectors) into WORK/scan.json")
    parser.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        backend, corpus, index, exact_index, where = args.measure
        if backend == "opensearch":
            row = measure_opensearch(Path(corpus), index, exact_index, where)
        else:
            row = measure_embedded(Path(corpus), index, exact_index, Path(where))
        print(json.dumps(row))
        return
    if args.scan:
        (args.work / "scan.json").write_text(json.dumps(scan_costs(args.work, [100_000, 300_000, 1_000_000],
                                                                   [384, 1024]), indent=1) + "\n")
    elif not args.report:
        run(args)
    report(args)


if __name__ == "__main__":
    main()
