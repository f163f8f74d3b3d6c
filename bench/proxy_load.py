"""Closed-loop load on the search proxy from a separate process on 127.0.0.1: requests/s, p50/p99 and
errors at 1, 8 and 32 concurrent clients, with query micro-batching on vs. off, in one run.

Two proxies (`hybrid serve`, batching on / off) serve the bundled SciFact sample from one node
(``HYBRID_OPENSEARCH_URL``, else a manager-started one). Each level is split into rounds that
alternate between the two proxies, so drift on a shared machine falls on both alike. Each load is
bounded in requests and time.

    python bench/proxy_load.py [--requests 400] [--rounds 4] [--seconds 60] [--concurrency 1 8 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe, header  # noqa: E402


async def _load(url: str, concurrency: int, requests: int, seconds: float, queries: list[str]) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        while sent < requests and time.monotonic() < deadline:
            query = queries[sent % len(queries)]
            sent += 1
            started = time.perf_counter()
            try:
                response = await client.post(f"{url}/v1/search", json={"query": query, "mode": "hybrid", "k": 10})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {"concurrency": concurrency, "latencies": latencies, "errors": errors, "seconds": wall}


def _summary(rounds: list[dict[str, object]], concurrency: int, batching: bool) -> dict[str, object]:
    latencies = sorted(x for r in rounds for x in r["latencies"])  # type: ignore[attr-defined]
    wall = sum(float(r["seconds"]) for r in rounds)  # type: ignore[arg-type]
    return {
        "batching": batching, "concurrency": concurrency, "rounds": len(rounds), "requests": len(latencies),
        "errors": sum(int(r["errors"]) for r in rounds), "seconds": wall,  # type: ignore[call-overload]
        "rps": len(latencies) / wall, "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
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
        print(json.dumps(asyncio.run(_load(url, int(concurrency), args.requests, args.seconds, queries))))
        return

    from bench.ingest_throughput import _node_url
    from hybrid.local_opensearch.node import free_port
    from hybrid.proxy.probe import wait_until_ready

    node_url, node = _node_url()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "HYBRID_OPENSEARCH_URL": node_url}
    index = f"bench-proxy-{os.getpid()}"
    servers: list[subprocess.Popen[bytes]] = []
    results = []
    try:
        subprocess.run([sys.executable, "-m", "hybrid", "ingest", "sample", "--index", index, "--replicas", "0",
                        "--quiet", "--rejects", os.devnull], env=env, check=True)
        urls = {}
        for batching in (True, False):  # both proxies up at once; each level measures one after the other
            port = free_port()
            cmd = [sys.executable, "-m", "hybrid", "serve", "--port", str(port), "--index", index, "--log-level", "warning"]
            if not batching:
                cmd.append("--no-batching")
            servers.append(subprocess.Popen(cmd, env=env))
            urls[batching] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            if not wait_until_ready(url, timeout_s=180):
                raise RuntimeError(f"proxy at {url} not ready after 180 s")
            subprocess.run([sys.executable, __file__, "--client", url, "4", "--requests", "40"], env=env,
                           check=True, capture_output=True)  # warm-up
        for concurrency in args.concurrency:
            print(f"load: {concurrency} clients, {args.rounds} rounds per proxy", file=sys.stderr)
            rounds: dict[bool, list[dict[str, object]]] = {True: [], False: []}
            for round_number in range(args.rounds):
                order = list(urls.items()) if round_number % 2 == 0 else list(urls.items())[::-1]
                for batching, url in order:
                    out = subprocess.run([sys.executable, __file__, "--client", url, str(concurrency), "--requests",
                                          str(args.requests // args.rounds), "--seconds", str(args.seconds / args.rounds)],
                                         env=env, check=True, capture_output=True, text=True)
                    rounds[batching].append(json.loads(out.stdout))
            results += [_summary(rounds[batching], concurrency, batching) for batching in (True, False)]
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
    print(f"{'batching':8} {'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(f"{'on' if r['batching'] else 'off':8} {r['concurrency']:7d} {r['requests']:8d} {r['errors']:6d} "
              f"{r['rps']:7.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f}")
    top = max(args.concurrency)
    on = next(r for r in results if r["batching"] and r["concurrency"] == top)
    off = next(r for r in results if not r["batching"] and r["concurrency"] == top)
    print(f"at {top} clients: batching on / off = {on['rps'] / off['rps']:.2f}x requests/s (target >= 2x)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lone_on = next(r for r in results if r["batching"] and r["concurrency"] == 1) if 1 in args.concurrency else None
    lone_off = next(r for r in results if not r["batching"] and r["concurrency"] == 1) if 1 in args.concurrency else None
    if lone_on and lone_off:
        print(f"1 client: batching on p50 - off p50 = {lone_on['p50_ms'] - lone_off['p50_ms']:+.1f} ms (target <= +2 ms)")
    args.out.write_text(json.dumps({"machine": machine, "results": results,
                                    "ratio_at_max_clients": on["rps"] / off["rps"]}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
