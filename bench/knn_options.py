"""What HNSW settings cost and buy on OpenSearch: dense recall@10 against exact search at several
``ef_search`` values, with float32 vectors and with Lucene scalar quantisation (``--vector-compression
sq``), plus dense and hybrid nDCG@10, dense latency and the size of the index.

SciFact's corpus is ingested once with MiniLM (float32 vectors); the ``sq`` index is a copy of it (the
same documents and vectors, quantised by Lucene), so both hold exactly the same embeddings. Exact
neighbours: cosine of each dev claim's embedding with every stored vector (numpy). The dense side asks
for k = 10 here, so ``ef_search`` is what decides the candidate list (Lucene uses max(k, ef_search));
the product's default dense window of 100 means ef >= 100 on every search.

    python bench/knn_options.py [--data DIR] [--split dev] [--ef 10 25 100 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.ingest_throughput import _node_url  # noqa: E402
from bench.machine import describe, header, write_report  # noqa: E402
from bench.search_bench import _ingest  # noqa: E402

FLOAT, SQ = "bench-knn-float", "bench-knn-sq"


def _sq_copy(client, source: str) -> None:  # type: ignore[no-untyped-def]
    """``SQ``: the same documents and record as ``source``, its vector field scalar-quantised."""
    from hybrid.backends.base import IndexOptions
    from hybrid.backends.opensearch.mapping import index_body, index_meta_of

    client.indices.delete(index=SQ, ignore_unavailable=True)
    meta = index_meta_of(client.indices.get_mapping(index=source), source)
    client.indices.create(index=SQ, body=index_body(meta, IndexOptions(replicas=0, vector_compression="sq")))
    # Copied through the client: the local manager's distribution has no reindex module.
    from opensearchpy.helpers import bulk, scan

    copies = ({"_index": SQ, "_id": hit["_id"], "_source": hit["_source"]}
              for hit in scan(client, index=source, query={"query": {"match_all": {}}}))
    bulk(client, copies, chunk_size=500, request_timeout=600)
    client.indices.refresh(index=SQ)
    client.indices.forcemerge(index=SQ, max_num_segments=1, request_timeout=3600)


def _exact_top10(client, index: str, queries: np.ndarray) -> list[list[str]]:  # type: ignore[no-untyped-def]
    from opensearchpy.helpers import scan

    ids, vectors = [], []
    for hit in scan(client, index=index, query={"query": {"match_all": {}}, "_source": ["doc_id", "vector"]}):
        ids.append(hit["_source"]["doc_id"])
        vectors.append(hit["_source"]["vector"])
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    return [[ids[i] for i in np.argsort(-row, kind="stable")[:10]] for row in unit @ matrix.T]


def _store_mb(client, index: str) -> float:  # type: ignore[no-untyped-def]
    row = client.cat.indices(index=index, format="json", bytes="b", h="index,pri.store.size")[0]
    return int(row["pri.store.size"]) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--ef", type=int, nargs="+", default=[10, 25, 100, 400])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "knn_options.json")
    args = parser.parse_args()

    from hybrid.backends.opensearch.backend import OpenSearchBackend
    from hybrid.backends.opensearch.client import make_client
    from hybrid.backends.opensearch.queries import knn_body, ranked_list
    from hybrid.backends.opensearch.search import OpenSearchSearch
    from hybrid.backends.opensearch.target import OpenSearchTarget
    from hybrid.encoders import load_encoder
    from hybrid.evaluation import collect_lists, evaluate_modes, load_split
    from hybrid.ingest.runner import recalibrate
    from hybrid.retrieval import FusionConfig, Searcher
    from hybrid.settings import load_settings

    url, node = _node_url()
    encoder = load_encoder("minilm")
    client = make_client(load_settings(opensearch_url=url))
    report: dict[str, object] = {"node": url, "split": args.split, "machine": describe(encoder.runtime)}
    print(header(report["machine"]))  # type: ignore[arg-type]
    try:
        if not client.indices.exists(index=FLOAT) or client.count(index=FLOAT)["count"] == 0:
            _ingest(OpenSearchTarget(client), args.data, FLOAT, encoder, passages=False)  # exact search reads `vector`
            backend = OpenSearchBackend(load_settings(opensearch_url=url))
            recalibrate(backend, FLOAT, encoder, changed=True)  # as `hybrid ingest` does, for adaptive fusion
            backend.close()
        source = next(iter(client.indices.get_alias(index=FLOAT)))
        client.indices.forcemerge(index=source, max_num_segments=1, request_timeout=3600)
        _sq_copy(client, source)
        queries, qrels = load_split(args.data, args.split)
        qids = sorted(queries)
        vectors = encoder.encode_queries([queries[q] for q in qids])
        exact = _exact_top10(client, source, vectors)
        rows = []
        for name, index in (("float32", source), ("sq (int7)", SQ)):
            quality = evaluate_modes(collect_lists(Searcher(OpenSearchSearch(client, index), encoder), queries,
                                                   instruction=None, windows=FusionConfig()),
                                     qrels, FusionConfig(), args.split).metrics
            for ef in [None, *args.ef]:
                recalls, took = [], []
                for vector, truth in zip(vectors, exact):
                    started = time.perf_counter()
                    answer = client.search(index=index, body=knn_body(vector, 10, (), ef))
                    took.append(time.perf_counter() - started)
                    recalls.append(len({d for d, _ in ranked_list(answer)} & set(truth)) / 10)
                rows.append({"vectors": name, "ef_search": ef, "recall_at_10": statistics.mean(recalls),
                             "dense_p50_ms": statistics.median(took) * 1000,
                             "dense_ndcg10": quality["dense"]["nDCG@10"], "hybrid_ndcg10": quality["hybrid"]["nDCG@10"],
                             "store_mb": _store_mb(client, index)})
        report["rows"] = rows
    finally:
        client.indices.delete(index=SQ, ignore_unavailable=True)
        if node is not None:
            client.indices.delete(index=f"{FLOAT}*", ignore_unavailable=True)
            node.purge()  # type: ignore[attr-defined]

    print(f"\nSciFact ({args.split}: {len(qids)} claims), MiniLM 384-d, HNSW m 16 / ef_construction 100, one segment")
    print(f"{'vectors':10} {'ef_search':>9} {'recall@10':>9} {'dense p50 ms':>12} {'dense nDCG@10':>13} "
          f"{'hybrid nDCG@10':>14} {'store MB':>8}")
    for r in rows:
        ef = "default" if r["ef_search"] is None else r["ef_search"]
        print(f"{r['vectors']:10} {ef:>9} {r['recall_at_10']:9.4f} {r['dense_p50_ms']:12.2f} {r['dense_ndcg10']:13.4f} "
              f"{r['hybrid_ndcg10']:14.4f} {r['store_mb']:8.1f}")
    write_report(args.out, report)


if __name__ == "__main__":
    main()
