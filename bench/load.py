"""Closed-loop load on a served proxy while something happens to its cluster, and what the clients saw:
success rate, the longest stretch without a successful answer, and when every answer was good again.

Shared by the cluster benchmark and the fault test, so both measure the same way. Every load is
bounded in time and in requests, and every request in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Outcome:
    """One request: when it was sent and answered (seconds since the load began), its HTTP status (0 when
    no answer came back at all) and the ``detail`` of an error answer."""

    sent: float
    answered: float
    status: int
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


async def _closed_loop(url: str, clients: int, seconds: float, max_requests: int, queries: Sequence[str],
                       body: dict[str, object], origin: float) -> list[Outcome]:
    import httpx

    outcomes: list[Outcome] = []
    deadline = origin + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        while len(outcomes) < max_requests and time.monotonic() < deadline:
            query = queries[len(outcomes) % len(queries)]
            sent = time.monotonic() - origin
            try:
                response = await client.post(f"{url}/v1/search", json={**body, "query": query})
                status = response.status_code
                detail = "" if status == 200 else str(response.json().get("detail", response.text))
            except httpx.HTTPError as exc:
                status, detail = 0, f"{type(exc).__name__}: {exc}"
            except ValueError:  # an error answer that is not JSON
                status, detail = response.status_code, f"not JSON: {response.text[:200]}"
            outcomes.append(Outcome(sent, time.monotonic() - origin, status, detail))

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=clients)) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    return sorted(outcomes, key=lambda o: o.sent)


def run_load(url: str, *, clients: int, seconds: float, queries: Sequence[str], max_requests: int = 100_000,
             body: dict[str, object] | None = None,
             events: Sequence[tuple[float, Callable[[], object]]] = ()) -> list[Outcome]:
    """``clients`` concurrent clients posting searches to ``url`` for ``seconds``; each ``(at, action)`` of
    ``events`` runs ``at`` seconds in, on a thread of its own, while the load goes on."""
    origin = time.monotonic()
    threads = [threading.Timer(at, action) for at, action in events]
    for thread in threads:
        thread.daemon = True
        thread.start()
    try:
        return asyncio.run(_closed_loop(url, clients, seconds, max_requests, queries,
                                        body or {"mode": "hybrid", "k": 10}, origin))
    finally:
        for thread in threads:
            thread.cancel()


@contextlib.contextmanager
def served_proxy(opensearch_url: str, index: str, log: Path, *, timeout_s: float = 120) -> Iterator[str]:
    """`hybrid serve` as users run it, against ``opensearch_url`` (comma-separated nodes), on a free port
    of 127.0.0.1, its output in ``log``; yields its URL and stops it after."""
    from hybrid.local_opensearch.node import free_port
    from hybrid.proxy.probe import wait_until_ready

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HYBRID_OPENSEARCH_URL": opensearch_url}
    with log.open("wb") as out:  # a file, not a pipe: nobody reads the access log while the load runs
        server = subprocess.Popen([sys.executable, "-m", "hybrid", "serve", "--port", str(port), "--index", index,
                                   "--log-level", "warning"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            if not wait_until_ready(url, timeout_s=timeout_s):
                raise RuntimeError(f"the proxy did not become ready: {log.read_text()[-2000:]}")
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def success_rate(outcomes: Sequence[Outcome]) -> float:
    return sum(o.ok for o in outcomes) / len(outcomes) if outcomes else 0.0


def longest_gap(outcomes: Sequence[Outcome]) -> float:
    """The longest time between two successful answers (from the first request to the first success, and
    from the last success to the last answer, count too): how long the clients saw no result at all."""
    if not outcomes:
        return 0.0
    times = [0.0, *sorted(o.answered for o in outcomes if o.ok), max(o.answered for o in outcomes)]
    return max(later - earlier for earlier, later in zip(times, times[1:]))


def answering_again_after(outcomes: Sequence[Outcome], since: float) -> float:
    """Seconds from ``since`` (say, the kill) until every request was answered 200 again: the answer
    time of the last failed request answered after ``since``, or 0 when none failed."""
    failed = [o.answered for o in outcomes if not o.ok and o.answered >= since]
    return max(failed) - since if failed else 0.0


def statuses(outcomes: Sequence[Outcome]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return dict(sorted(counts.items()))
