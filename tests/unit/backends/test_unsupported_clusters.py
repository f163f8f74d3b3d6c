"""Clusters hybrid does not work with — an OpenSearch older than 2.11, Elasticsearch, a node without the
k-NN plugin — stopped with one sentence by the CLI and the proxy. A server on 127.0.0.1 answers ``GET /``
and the node-info request as such a cluster would (none of them can be installed here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from hybrid.cli import main
from hybrid.cli.errors import REFUSED
from hybrid.proxy import create_app
from hybrid.settings import load_settings

KNN = {"name": "opensearch-knn"}


def _node(name: str, *plugins: dict[str, str]) -> dict[str, object]:
    return {"name": name, "plugins": list(plugins)}


CLUSTERS = {
    "old OpenSearch": ({"version": {"distribution": "opensearch", "number": "2.9.0"}},
                       {"n1": _node("n1", KNN)}, "runs OpenSearch 2.9.0; hybrid supports 2.11 and later"),
    "Elasticsearch": ({"version": {"number": "8.11.1", "build_flavor": "default"}, "tagline": "You Know, for Search"},
                      {"n1": _node("n1")}, "is not OpenSearch (it reports version 8.11.1, distribution none)"),
    "a node without k-NN": ({"version": {"distribution": "opensearch", "number": "2.19.1"}},
                            {"a": _node("data-1", KNN), "b": _node("data-2", {"name": "opensearch-sql"})},
                            "node(s) data-2 have no k-NN plugin (opensearch-knn)"),
}


@pytest.fixture(params=list(CLUSTERS))
def cluster(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    info, nodes, expected = CLUSTERS[request.param]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            path = self.path.split("?")[0]
            status, body = (200, info) if path == "/" else (200, {"nodes": nodes}) if path.startswith("/_nodes") \
                else (404, {"error": {"type": "index_not_found_exception", "reason": "no such index"}, "status": 404})
            answer = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        do_HEAD = do_POST = do_PUT = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", expected
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_cli_names_what_is_unsupported(cluster: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    url, expected = cluster
    code = main(["search", "statin", "--index", "pubmed", "--mode", "bm25", "--opensearch-url", url])
    err = capsys.readouterr().err
    assert code == REFUSED
    assert expected in err and "Traceback" not in err


def test_proxy_names_what_is_unsupported(cluster: tuple[str, str]) -> None:
    url, expected = cluster
    with TestClient(create_app(load_settings(opensearch_url=url, index="pubmed"))) as api:
        ready = api.get("/readyz")
        assert ready.status_code == 503 and expected in ready.json()["detail"]
        searched = api.post("/v1/search", json={"query": "statin", "mode": "bm25"})
        assert searched.status_code == 502 and expected in searched.json()["detail"]
