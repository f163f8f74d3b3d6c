"""One node vs. a 3-node cluster, and a secured node vs. a plain one, all started by the local manager
on this machine in one run: ingest docs/s, hybrid search p50/p95, what a proxy under load sees when a
node is SIGKILLed (time until it answers every request again, success rate, longest gap), and the
search p50 that TLS and authentication add.

- Ingest: SciFact's corpus with MiniLM as users run it (`auto` precision), into 1 node (1 shard, no
  replica) and into 3 nodes (3 shards, 1 replica). ``write docs/s`` counts only the time spent in the
  bulk writes, the part the cluster changes; end to end, the encoder dominates on a CPU.
- Search: once the cluster is green again (replicas are built after the load), ``--queries`` SciFact
  claims, one at a time, whole hybrid searches (embedding included).
- Node killed: `hybrid serve` against every node's URL, 16 clients for ``--load-seconds``; 10 s in,
  the elected cluster manager is SIGKILLed and started again at once (as a supervisor would).
- Secured: the bundled sample in a secured single node (reader user, TLS) and in the plain one; rounds
  alternate between them.

    python bench/cluster_bench.py [--data DIR] [--docs N] [--queries 200] [--load-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.load import (  # noqa: E402
    answering_again_after,
    longest_gap,
    run_load,
    served_proxy,
    statuses,
    success_rate,
)
from bench.machine import describe, header, p50_p95_ms, write_report  # noqa: E402

KILL_AT_S = 10.0


def _ms(samples: list[float]) -> dict[str, float]:
    p50, p95 = p50_p95_ms(samples)
    return {"p50_ms": p50, "p95_ms": p95}


class TimedTarget:
    """The real ingest target, with the time spent in its bulk writes added up."""

    def __init__(self, target) -> None:  # type: ignore[no-untyped-def]
        self.target, self.write_s = target, 0.0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.target, name)

    def write(self, docs, vectors):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return self.target.write(docs, vectors)
        finally:
            self.write_s += time.perf_counter() - started


def _limited_corpus(data: Path, docs: int | None, folder: Path) -> Path:
    if docs is None:
        return data
    out = folder / f"corpus-{docs}"
    out.mkdir(exist_ok=True)
    with (data / "corpus.jsonl").open(encoding="utf-8") as src:
        (out / "corpus.jsonl").write_text("".join(line for _, line in zip(range(docs), src)), encoding="utf-8")
    return out


def _ingest(settings, source_dir: Path, index: str, encoder, *, shards: int, replicas: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from hybrid.backends.base import IndexOptions
    from hybrid.backends.opensearch.backend import OpenSearchBackend
    from hybrid.ingest.pipeline import IngestOptions, run_ingest
    from hybrid.ingest.sources import open_source

    backend = OpenSearchBackend(settings)
    target = TimedTarget(backend.ingest_target())
    try:
        summary = run_ingest(open_source(source_dir, "beir"), index=index, encoder=encoder, target=target,
                             rejects_path=Path(os.devnull), metadata_fields={},
                             index_options=IndexOptions(shards=shards, replicas=replicas), options=IngestOptions())
    finally:
        backend.close()
    return {"docs": summary.indexed, "seconds": summary.seconds, "docs_per_s": summary.docs_per_s,
            "write_s": target.write_s, "write_docs_per_s": summary.indexed / target.write_s}


def _wait_green(settings) -> float:  # type: ignore[no-untyped-def]
    from opensearchpy import OpenSearch

    from hybrid.backends.opensearch.client import hosts_of

    client = OpenSearch(hosts=hosts_of(settings.opensearch_url), timeout=30)
    started = time.monotonic()
    health = client.cluster.health(params={"wait_for_status": "green", "timeout": "600s"}, request_timeout=610)
    client.close()
    if health["status"] != "green":
        raise SystemExit(f"the cluster is {health['status']} 10 minutes after the ingest")
    return time.monotonic() - started


def _search_latency(settings, index: str, encoder, queries: list[str], mode: str = "hybrid") -> list[float]:  # type: ignore[no-untyped-def]
    from hybrid.backends.opensearch.backend import OpenSearchBackend
    from hybrid.retrieval import Searcher, SearchRequest

    backend = OpenSearchBackend(settings)
    try:
        searcher = Searcher(backend.search(index), encoder)
        for text in queries[:10]:  # warm-up: connections, caches, the encoder's first calls
            searcher.search(SearchRequest(text, mode=mode, k=10))
        samples = []
        for text in queries:
            started = time.perf_counter()
            searcher.search(SearchRequest(text, mode=mode, k=10))
            samples.append(time.perf_counter() - started)
        return samples
    finally:
        backend.close()


def _killed_under_load(manager, cluster, index: str, queries: list[str], seconds: float, log: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from opensearchpy import OpenSearch

    urls = cluster.status().urls
    client = OpenSearch(hosts=urls, timeout=30)
    victim = client.cat.cluster_manager(format="json")[0]["node"]
    back: dict[str, float] = {}

    def kill_and_restart() -> None:
        cluster.stop_node(victim, kill=True)
        started = time.monotonic()
        manager.start_node(cluster.name, victim, timeout_s=180)
        back["node_restart_s"] = time.monotonic() - started

    with served_proxy(",".join(urls), index, log) as proxy:
        outcomes = run_load(proxy, clients=16, seconds=seconds, queries=queries, max_requests=100_000,
                            events=[(KILL_AT_S, kill_and_restart)])
    green = client.cluster.health(params={"wait_for_status": "green", "timeout": "120s"}, request_timeout=130)
    client.close()
    ok = [o.answered - o.sent for o in outcomes if o.ok]
    return {"nodes": len(urls), "killed": victim, "requests": len(outcomes), "statuses": statuses(outcomes),
            "success_rate": success_rate(outcomes), "longest_gap_s": longest_gap(outcomes),
            "answering_all_again_after_kill_s": answering_again_after(outcomes, KILL_AT_S),
            "ok_p50_ms": statistics.median(ok) * 1000 if ok else None, **back,
            "errors": sorted({o.detail for o in outcomes if not o.ok})[:5], "green_after": green["status"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--docs", type=int, default=None, help="the corpus's first N documents (default: all)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=4, help="secured vs. plain alternations")
    parser.add_argument("--heap-mb", type=int, default=512, help="per node")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cluster_bench.json")
    args = parser.parse_args()

    from hybrid.beir import load_queries
    from hybrid.data import sample_dir
    from hybrid.encoders import load_encoder
    from hybrid.local_opensearch import manager_for
    from hybrid.settings import load_settings

    encoder = load_encoder("minilm")
    info = describe(encoder.runtime)
    print(header(info))
    manager = manager_for(load_settings())
    manager.install()
    queries = list(load_queries(args.data).values())[: args.queries]
    results: dict[str, object] = {"machine": info, "heap_mb_per_node": args.heap_mb}
    clusters = {1: "bench-one", 3: "bench-three"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        corpus = _limited_corpus(args.data, args.docs, folder)
        topology = []
        try:
            for nodes, name in clusters.items():
                started = time.monotonic()
                manager.start_cluster(name, nodes=nodes, heap_mb=args.heap_mb, timeout_s=300)
                cluster = manager.cluster(name)
                print(f"{nodes} node(s) up in {time.monotonic() - started:.1f} s", file=sys.stderr)
                settings = load_settings(opensearch_url=",".join(cluster.status().urls))
                shards, replicas = (1, 0) if nodes == 1 else (3, 1)
                row: dict[str, object] = {"nodes": nodes, "shards": shards, "replicas": replicas,
                                          "start_s": time.monotonic() - started}
                row["ingest"] = _ingest(settings, corpus, "scifact", encoder, shards=shards, replicas=replicas)
                # Replicas are built after the load: searches wait until they are, not compete with it.
                row["green_after_ingest_s"] = _wait_green(settings)
                row["hybrid"] = _ms(_search_latency(settings, "scifact", encoder, queries))
                row["node_killed"] = _killed_under_load(manager, cluster, "scifact", queries, args.load_seconds,
                                                        folder / f"serve-{nodes}.log")
                topology.append(row)
                print(json.dumps(row), file=sys.stderr)
                if nodes == 3:
                    cluster.purge()
            results["topology"] = topology

            # Secured vs. plain, both single nodes up together; rounds alternate between them.
            manager.start_cluster("bench-secure", secure=True, heap_mb=args.heap_mb, timeout_s=300)
            secure = manager.cluster("bench-secure")
            credentials = secure.credentials()
            plain_url = ",".join(manager.cluster(clusters[1]).status().urls)
            variants = {
                "plain http": load_settings(opensearch_url=plain_url),
                "TLS + basic auth": load_settings(
                    opensearch_url=",".join(secure.status().urls), opensearch_user="writer",
                    opensearch_password=credentials.passwords["writer"], opensearch_ca_certs=credentials.ca),
            }
            for settings in variants.values():
                _ingest(settings, sample_dir(), "sample", encoder, shards=1, replicas=0)
            secured_rows = []
            for mode in ("bm25", "hybrid"):
                samples: dict[str, list[float]] = {name: [] for name in variants}
                for _ in range(args.rounds):
                    for name, settings in variants.items():
                        samples[name] += _search_latency(settings, "sample", encoder, queries, mode)
                for name in variants:
                    secured_rows.append({"mode": mode, "variant": name, "searches": len(samples[name]),
                                         **_ms(samples[name])})
            results["secured"] = secured_rows
        finally:
            for name in (*clusters.values(), "bench-secure"):
                manager.cluster(name).purge()

    print(f"\n{'nodes':>5} {'shards/replicas':>15} {'start s':>8} {'ingest docs/s':>13} {'write docs/s':>12} "
          f"{'hybrid p50':>10} {'p95 ms':>7} {'kill→all OK s':>13} {'success':>8} {'longest gap s':>13}")
    for row in topology:
        ingest, hybrid, killed = row["ingest"], row["hybrid"], row["node_killed"]
        print(f"{row['nodes']:>5} {row['shards']:>8}/{row['replicas']:<6} {row['start_s']:>8.1f} "  # type: ignore[index]
              f"{ingest['docs_per_s']:>13.1f} {ingest['write_docs_per_s']:>12.0f} {hybrid['p50_ms']:>10.1f} "  # type: ignore[index]
              f"{hybrid['p95_ms']:>7.1f} {killed['answering_all_again_after_kill_s']:>13.1f} "  # type: ignore[index]
              f"{killed['success_rate']:>8.1%} {killed['longest_gap_s']:>13.1f}")  # type: ignore[index]
    print(f"\n{'mode':>6} {'variant':>18} {'p50 ms':>7} {'p95 ms':>7}")
    for item in secured_rows:
        print(f"{item['mode']:>6} {item['variant']:>18} {item['p50_ms']:>7.2f} {item['p95_ms']:>7.2f}")
    write_report(args.out, results)


if __name__ == "__main__":
    main()
