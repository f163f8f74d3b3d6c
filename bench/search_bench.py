"""Search quality and latency on SciFact (MiniLM): the dev-split table for bm25 / dense / hybrid on
both backends (each mode's run is the ranked list `hybrid search` pages through), and OpenSearch
latency p50/p95 — raw sub-queries, the pipeline with the embedding excluded (one ``_msearch`` vs. two
sequential requests), whole searches as users run them, and the server-side neural-search pipeline
where the node has it.

The full corpus is ingested into the node (``HYBRID_OPENSEARCH_URL``, else a manager-started one)
and into an embedded index under a temporary folder; an index that already holds it is reused.

    python bench/search_bench.py [--data DIR] [--split dev] [--latency-queries 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.ingest_throughput import _node_url  # noqa: E402
from bench.machine import describe, header, p50_p95_ms, write_report  # noqa: E402


def _ms(samples: list[float]) -> tuple[float, float]:
    return p50_p95_ms(samples)


def _ingest(target, data: Path, index: str, encoder, *, passages: bool = True) -> None:  # type: ignore[no-untyped-def]
    from hybrid.backends.base import IndexOptions
    from hybrid.ingest.pipeline import IngestOptions, run_ingest
    from hybrid.ingest.sources import open_source

    source = open_source(data, "beir")
    summary = run_ingest(source, index=index, encoder=encoder, target=target, rejects_path=Path(os.devnull),
                         metadata_fields={}, index_options=IndexOptions(replicas=0, passages=passages),
                         options=IngestOptions())
    print(f"  {target.description}: indexed {summary.indexed}, skipped {summary.skipped}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--index", default="bench-scifact")
    parser.add_argument("--instruction", default=None, help="MiniLM has no instruction slot; for decoder encoders")
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "search_bench.json")
    args = parser.parse_args()

    from hybrid.backends.embedded.backend import EmbeddedBackend
    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.backends.embedded.target import EmbeddedTarget
    from hybrid.backends.opensearch.backend import OpenSearchBackend
    from hybrid.backends.opensearch.client import make_client
    from hybrid.backends.opensearch.search import OpenSearchSearch
    from hybrid.backends.opensearch.target import OpenSearchTarget
    from hybrid.encoders import load_encoder
    from hybrid.evaluation import collect_lists, evaluate_modes, load_split
    from hybrid.ingest.runner import recalibrate
    from hybrid.retrieval import FusionConfig, Searcher
    from hybrid.settings import load_settings

    url, node = _node_url()
    encoder = load_encoder("minilm", device="cpu")
    client = make_client(load_settings(opensearch_url=url))
    report: dict[str, object] = {"node": url, "split": args.split, "machine": describe(encoder.runtime)}
    print(header(report["machine"]))  # type: ignore[arg-type]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print("ingesting SciFact into both backends", file=sys.stderr)
            _ingest(OpenSearchTarget(client), args.data, args.index, encoder)
            embedded_target = EmbeddedTarget(Path(tmp))
            _ingest(embedded_target, args.data, args.index, encoder)
            embedded_target.close()
            # What `hybrid ingest` does after loading: calibrate both sides for adaptive fusion.
            for backend in (OpenSearchBackend(load_settings(opensearch_url=url)), EmbeddedBackend(Path(tmp))):
                recalibrate(backend, args.index, encoder, changed=True)
                backend.close()
            searchers = {
                "opensearch": Searcher(OpenSearchSearch(client, args.index), encoder),
                "embedded": Searcher(EmbeddedSearch(Path(tmp), args.index), encoder),
            }
            queries, qrels = load_split(args.data, args.split)
            quality = {}
            for name, searcher in searchers.items():
                lists = collect_lists(searcher, queries, instruction=args.instruction, windows=FusionConfig())
                quality[name] = evaluate_modes(lists, qrels, FusionConfig("rrf"), args.split).metrics
                quality[name]["hybrid rrf"] = quality[name].pop("hybrid")
                quality[name]["hybrid adaptive"] = evaluate_modes(lists, qrels, FusionConfig(), args.split).metrics["hybrid"]
            report["quality"] = quality
            print(f"\nSciFact {args.split} ({len(qrels)} queries), MiniLM, windows 100; hybrid by RRF (k 60) and by "
                  "the default adaptive fusion (calibrated at ingest)")
            print(f"{'backend':11} {'mode':15} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'MAP':>7}")
            for name, metrics in quality.items():
                for mode, m in metrics.items():
                    print(f"{name:11} {mode:15} {m['nDCG@10']:8.4f} {m['R@100']:7.4f} {m['RR@10']:7.4f} {m['AP']:7.4f}")

            report["latency_ms"] = _latency(client, searchers["opensearch"], encoder, queries, args)
    finally:
        client.indices.delete(index=f"{args.index}*", ignore_unavailable=True)
        if node is not None:
            node.purge()  # type: ignore[attr-defined]
    write_report(args.out, report)


def _latency(client, searcher, encoder, queries, args) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    from hybrid.backends.opensearch.queries import bm25_body, knn_body
    from hybrid.backends.opensearch.server_side import ensure_pipeline, server_side_hybrid
    from hybrid.retrieval import SearchRequest, plan_search

    texts = list(queries.values())[: args.latency_queries]
    vectors = encoder.encode_queries(texts)
    backend = searcher.backend
    meta = backend.index_meta()
    passages = meta.passages is not None

    def fused(q, v, *, one_round_trip: bool):  # type: ignore[no-untyped-def]
        plan = plan_search(SearchRequest(q), meta)
        subqueries = plan.queries(v)
        lists = backend.retrieve(subqueries) if one_round_trip else [backend.retrieve([s])[0] for s in subqueries]
        return plan.rank(lists)

    modes = {
        "bm25, 10 hits": lambda q, v: client.search(index=args.index, body=bm25_body(q, 10, (), meta.lexical)),
        "dense, 10 hits (excluded)": lambda q, v: client.search(index=args.index, body=knn_body(v, 10, (), passages=passages)),
        "bm25, 100 hits": lambda q, v: client.search(index=args.index, body=bm25_body(q, 100, (), meta.lexical)),
        "dense, 100 hits (excluded)": lambda q, v: client.search(index=args.index, body=knn_body(v, 100, (), passages=passages)),
        "hybrid, one _msearch + fusion (excluded)": lambda q, v: fused(q, v, one_round_trip=True),
        "hybrid, 2 sequential requests + fusion (excluded)": lambda q, v: fused(q, v, one_round_trip=False),
        "bm25 search, page of 10": lambda q, v: searcher.search(SearchRequest(q, mode="bm25")),
        "dense search, page of 10 (included)": lambda q, v: searcher.search(SearchRequest(q, mode="dense")),
        "hybrid search, page of 10 (included)": lambda q, v: searcher.search(SearchRequest(q)),
    }
    try:
        ensure_pipeline(client)
        modes["server-side neural-search RRF (excluded)"] = lambda q, v: server_side_hybrid(client, args.index, q, v, 10, meta)
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        print(f"server-side pipeline not measured: {exc}", file=sys.stderr)
    for q, v in zip(texts[:20], vectors[:20]):  # warm-up
        for fn in modes.values():
            fn(q, v)
    results: dict[str, dict[str, float]] = {}
    for name, fn in modes.items():
        samples = []
        for q, v in zip(texts, vectors):
            started = time.perf_counter()
            fn(q, v)
            samples.append(time.perf_counter() - started)
        p50, p95 = _ms(samples)
        results[name] = {"p50_ms": p50, "p95_ms": p95, "queries": len(samples)}
    slower = max(results["bm25 search, page of 10"]["p50_ms"], results["dense search, page of 10 (included)"]["p50_ms"])
    ratio = results["hybrid search, page of 10 (included)"]["p50_ms"] / slower
    print(f"\nlatency on OpenSearch ({len(texts)} queries; searches: windows 100 per side, page of 10, bodies fetched)")
    print(f"{'query':50} {'p50 ms':>8} {'p95 ms':>8}")
    for name, r in results.items():
        print(f"{name:50} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f}")
    print(f"hybrid search p50 / slower single-mode search p50: {ratio:.2f}x (target <= 1.2x)")
    results["ratio"] = {"hybrid_vs_slower_single_search": ratio}
    return results


if __name__ == "__main__":
    main()
