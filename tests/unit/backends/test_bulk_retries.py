"""Bulk items the cluster could not take just now (429, 5xx) are retried with backoff, not rejected;
items refused for what they are (4xx) are rejects; a spent retry budget stops with one clear error.
Against a local HTTP server that answers `_bulk` as OpenSearch does, item by item."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from hybrid.backends.base import BackendUnavailableError
from hybrid.backends.opensearch.client import backoff_s, make_client
from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.documents import Document
from hybrid.index_meta import IndexMeta
from hybrid.passages import DocumentVectors
from hybrid.recipes import Fingerprint, bmretriever_spec
from hybrid.settings import load_settings


class _Cluster(BaseHTTPRequestHandler):
    """Answers each `_bulk` item from a script: per id, the statuses of its successive attempts."""

    script: dict[str, list[int]] = {}
    attempts: dict[str, int] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        lines = self.rfile.read(int(self.headers["Content-Length"])).decode().splitlines()
        items = []
        for header in lines[::2]:
            doc_id = json.loads(header)["index"]["_id"]
            with self.lock:
                n = self.attempts.get(doc_id, 0)
                self.attempts[doc_id] = n + 1
            plan = self.script.get(doc_id, [201])
            status = plan[min(n, len(plan) - 1)]
            item = {"_id": doc_id, "status": status}
            if status >= 300:
                kind = "mapper_parsing_exception" if status == 400 else "unavailable_shards_exception"
                item["error"] = {"type": kind, "reason": f"{kind} for {doc_id}"}
            items.append({"index": item})
        body = json.dumps({"took": 1, "errors": any(i["index"]["status"] >= 300 for i in items), "items": items}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def cluster() -> Iterator[str]:
    _Cluster.attempts = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Cluster)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _target(url: str, budget_s: float) -> OpenSearchTarget:
    target = OpenSearchTarget(make_client(load_settings(opensearch_url=url)), initial_backoff_s=0.01,
                              retry_budget_s=budget_s)
    target.physical = "idx"
    target._meta = IndexMeta(FINGERPRINT)
    return target


FINGERPRINT = Fingerprint.of(bmretriever_spec("m"), weights="w", dimension=3)
DOCS = [Document(id=f"d{i}", title="t", text="x", position=i) for i in range(4)]
VECTORS = [DocumentVectors.whole(d.text, np.zeros(3, dtype=np.float32)) for d in DOCS]


def test_transient_items_are_retried_and_bad_ones_rejected(cluster: str) -> None:
    _Cluster.script = {"d1": [503, 503, 201], "d2": [400], "d3": [429, 502, 201]}
    rejects = _target(cluster, budget_s=30).write(DOCS, VECTORS)
    assert [(r.id, r.reason) for r in rejects] == [("d2", "OpenSearch refused it: mapper_parsing_exception for d2")]
    assert _Cluster.attempts == {"d0": 1, "d1": 3, "d2": 1, "d3": 3}


def test_a_spent_retry_budget_stops_with_one_error(cluster: str) -> None:
    _Cluster.script = {"d0": [503], "d3": [504]}
    with pytest.raises(BackendUnavailableError, match=r"could not take 2 documents after 0.3 s of retries "
                                                      r"\(e.g. 503: unavailable_shards_exception for d0\); rerun"):
        _target(cluster, budget_s=0.3).write(DOCS, VECTORS)
    assert _Cluster.attempts["d0"] >= 2 and _Cluster.attempts["d1"] == 1


def test_backoff_grows_and_is_jittered() -> None:
    waits = [[backoff_s(attempt, 0.5) for _ in range(200)] for attempt in range(8)]
    assert all(0 <= w <= min(30, 0.5 * 2**a) for a, ws in enumerate(waits) for w in ws)
    assert max(waits[0]) <= 0.5 < max(waits[3]) and len({round(w, 6) for w in waits[5]}) > 150
