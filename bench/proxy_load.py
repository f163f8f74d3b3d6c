"""Closed-loop load on the search proxy from a separate process on 127.0.0.1: requests/s, p50/p99 and
errors at 1, 8 and 32 concurrent clients, with query micro-batching on vs. off, in one run.

Three proxies (`hybrid serve`) serve the bundled SciFact sample from one node (``HYBRID_OPENSEARCH_URL``,
else a manager-started one): the default (batching on, precision auto), batching off, and batching off
with queries in torch fp32 (``HYBRID_PRECISION=fp32``: how queries were embedded before the ONNX Runtime
path, the unbatched baseline). Each level is split into rounds that alternate between the proxies, so
drift on a shared machine falls on all alike. Each load is bounded in requests and time.

    python bench/proxy_load.py [--requests 400] [--rounds 4] [--seconds 60] [--concurrency 1 8 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ON, OFF, BEFORE = "batching on", "batching off", "batching off, torch fp32 queries"
VARIANTS = {ON: ([], "auto"), OFF: (["--no-batching"], "auto"), BEFORE: (["--no-batching"], "fp32")}  # flags, precision
sys.path.insert(0, str(ROOT))

from bench.load import run_load  # noqa: E402
from bench.machine import describe, header, percentile_ms  # noqa: E402


def _load(url: str, concurrency: int, requests: int, seconds: float, queries: list[str]) -> dict[str, object]:
    started = time.perf_counter()
    outcomes = run_load(url, clients=concurrency, seconds=seconds, queries=queries, max_requests=requests)
    return {"concurrency": concurrency, "latencies": [o.answered - o.sent for o in outcomes],
            "errors": sum(not o.ok for o in outcomes), "seconds": time.perf_counter() - started}


def _summary(rounds: list[dict[str, object]], concurrency: int, variant: str) -> dict[str, object]:
    latencies = sorted(x for r in rounds for x in r["latencies"])  # type: ignore[attr-defined]
    wall = sum(float(r["seconds"]) for r in rounds)  # type: ignore[arg-type]
    return {
        "proxy": variant, "concurrency": concurrency, "rounds": len(rounds), "requests": len(latencies),
        "errors": sum(int(r["errors"]) for r in rounds), "seconds": wall,  # type: ignore[call-overload]
        "rps": len(latencies) / wall, "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile_ms(latencies, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="per load level and proxy")
    parser.add_argument("--rounds", type=int, default=4, help="alternations between the two proxies per level")
    parser.add_argument("--seconds", type=float, default=60, help="per load level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "proxy_load.json")
    parser.add_argument("--client", nargs=2, metavar=("URL", "CONCURRENCY"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    from hybrid.beir import load_queries
    from hybrid.data import sample_dir

    queries = list(load_queries(sample_dir()).values())
    if args.client:  # the load generator process
        url, concurrency = args.client
        print(json.dumps(_load(url, int(concurrency), args.requests, args.seconds, queries)))
        return

    from bench.ingest_throughput import _node_url
    from hybrid.local_opensearch.node import free_port
    from hybrid.proxy.probe import wait_until_ready

    node_url, node = _node_url()
    # The clients cycle through the sample's queries, so the query-embedding cache is off: every request
    # is embedded, which is what batching is compared on.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "HYBRID_OPENSEARCH_URL": node_url,
           "HYBRID_PROXY_QUERY_CACHE": "0"}
    index = f"bench-proxy-{os.getpid()}"
    servers: list[subprocess.Popen[bytes]] = []
    results = []
    try:
        subprocess.run([sys.executable, "-m", "hybrid", "ingest", "sample", "--index", index, "--replicas", "0",
                        "--quiet", "--rejects", os.devnull], env=env, check=True)
        urls = {}
        for variant, (flags, precision) in VARIANTS.items():  # all proxies up at once; rounds alternate
            port = free_port()
            cmd = [sys.executable, "-m", "hybrid", "serve", "--port", str(port), "--index", index,
                   "--log-level", "warning", *flags]
            servers.append(subprocess.Popen(cmd, env={**env, "HYBRID_PRECISION": precision},
                                            stdout=subprocess.DEVNULL))  # the access log
            urls[variant] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            if not wait_until_ready(url, timeout_s=180):
                raise RuntimeError(f"proxy at {url} not ready after 180 s")
            subprocess.run([sys.executable, __file__, "--client", url, "4", "--requests", "40"], env=env,
                           check=True, capture_output=True)  # warm-up
        for concurrency in args.concurrency:
            print(f"load: {concurrency} clients, {args.rounds} rounds per proxy", file=sys.stderr)
            rounds: dict[str, list[dict[str, object]]] = {variant: [] for variant in urls}
            for round_number in range(args.rounds):
                order = list(urls.items()) if round_number % 2 == 0 else list(urls.items())[::-1]
                for variant, url in order:
                    out = subprocess.run([sys.executable, __file__, "--client", url, str(concurrency), "--requests",
                                          str(args.requests // args.rounds), "--seconds", str(args.seconds / args.rounds)],
                                         env=env, check=True, capture_output=True, text=True)
                    rounds[variant].append(json.loads(out.stdout))
            results += [_summary(rounds[variant], concurrency, variant) for variant in urls]
    finally:
        for server in servers:
            if server.poll() is None:
                server.kill()
        urllib.request.urlopen(urllib.request.Request(f"{node_url}/{index}*", method="DELETE"))
        if node is not None:
            node.purge()  # type: ignore[attr-defined]

    from hybrid.encoders import load_encoder

    machine = describe(f"queries: {load_encoder('minilm', device='cpu').runtime}")
    print(f"\n{header(machine)}")
    print(f"{'proxy':34} {'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{r['proxy']:34} {r['concurrency']:7d} {r['requests']:8d} {r['errors']:6d} "
              f"{r['rps']:7.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}")

    def at(variant: str, concurrency: int) -> dict[str, float]:
        return next(r for r in results if r["proxy"] == variant and r["concurrency"] == concurrency)

    top = max(args.concurrency)
    ratios = {f"{ON} / {other}": at(ON, top)["rps"] / at(other, top)["rps"] for other in (OFF, BEFORE)}
    for name, ratio in ratios.items():
        print(f"at {top} clients, requests/s: {name} = {ratio:.2f}x (target >= 2x unbatched)")
    if 1 in args.concurrency:
        print(f"1 client: p50 {ON} - {OFF} = {at(ON, 1)['p50_ms'] - at(OFF, 1)['p50_ms']:+.1f} ms (target <= +2 ms)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "results": results, f"ratios_at_{top}_clients": ratios},
                                   indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
