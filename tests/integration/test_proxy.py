"""The search proxy against the real node: happy paths, every 4xx, 503 with the node stopped, recovery."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.proxy import create_app
from hybrid.settings import load_settings
from tests.integration.helpers import dedicated_node, ingest_sample

pytestmark = pytest.mark.opensearch


@pytest.fixture(scope="module")
def proxy_index(opensearch_client, minilm, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("proxy")
    index = f"test-proxy-{os.getpid()}"
    # One vector per document: these tests are about the proxy; passages are tested in test_search_opensearch.
    ingest_sample(OpenSearchTarget(opensearch_client), index, minilm, folder, passages=False)
    yield index
    opensearch_client.indices.delete(index=f"{index}*", ignore_unavailable=True)


@pytest.fixture
def api(opensearch_url: str, proxy_index: str, minilm):  # type: ignore[no-untyped-def]
    settings = load_settings(opensearch_url=opensearch_url, index=proxy_index)
    with TestClient(create_app(settings, encoder=minilm)) as client:
        yield client


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_search_modes(api: TestClient, mode: str) -> None:
    response = api.post("/v1/search", json={"query": "statin therapy lowers cholesterol", "mode": mode, "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == mode and len(body["hits"]) == 5
    hit = body["hits"][0]
    assert hit["rank"] == 1 and hit["title"] and hit["snippet"]
    expected_sides = {"bm25", "dense"} if mode == "hybrid" else {mode}
    assert set(hit["found_by"]) <= expected_sides and hit["found_by"]
    assert set(hit["metadata"]) == {"year", "journal"}


def test_filters_paging_and_explain(api: TestClient) -> None:
    body = {"query": "cancer genetics", "k": 10, "filters": {"year": {"gte": 2015}, "journal": ["J1", "J2"]},
            "explain": True, "fusion": {"method": "rrf"}}
    first = api.post("/v1/search", json=body).json()
    second = api.post("/v1/search", json={**body, "from": 10}).json()
    hits = first["hits"] + second["hits"]
    assert [h["rank"] for h in hits] == list(range(1, 21))
    assert len({h["id"] for h in hits}) == 20
    for h in hits:
        assert h["metadata"]["year"] >= 2015 and h["metadata"]["journal"] in ("J1", "J2")
        expected = sum(1 / (60 + h[side]["rank"]) for side in ("bm25", "dense") if side in h)
        assert h["score"] == pytest.approx(expected)


def test_paging_walks_one_list(api: TestClient) -> None:
    fusion = {"window": 300}
    whole = api.post("/v1/search", json={"query": "cancer genetics", "k": 300, "fusion": fusion}).json()["hits"]
    pages = []
    for offset in range(0, 300, 50):
        body = {"query": "cancer genetics", "k": 50, "from": offset, "fusion": fusion}
        pages += api.post("/v1/search", json=body).json()["hits"]
    assert [h["id"] for h in pages] == [h["id"] for h in whole] and len({h["id"] for h in pages}) == 300
    past = api.post("/v1/search", json={"query": "cancer genetics", "k": 10, "from": 200})
    assert past.status_code == 400 and "raise the windows to a total of at least 210" in past.json()["detail"]


def test_documents_indices_health(api: TestClient, proxy_index: str, minilm) -> None:  # type: ignore[no-untyped-def]
    hit = api.post("/v1/search", json={"query": "cells", "mode": "bm25", "k": 1}).json()["hits"][0]
    doc = api.get(f"/v1/documents/{hit['id']}")
    assert doc.status_code == 200 and doc.json()["title"] == hit["title"] and "vector" not in doc.json()["metadata"]
    listed = {i["name"]: i for i in api.get("/v1/indices").json()}
    assert listed[proxy_index]["documents"] == 400
    assert listed[proxy_index]["fingerprint"]["id"] == minilm.fingerprint.id
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["backend"] == "opensearch"
    assert ready.json()["encoders"] == [minilm.spec.model_id]
    assert "hybrid search" in api.get("/").text


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"query": ""}, 422, "at least 1 character"),
        ({"query": "x" * 5000}, 422, "at most 4096 characters"),
        ({"query": "q", "k": 0}, 422, "greater than or equal to 1"),
        ({"query": "q", "k": 1001}, 422, "less than or equal to 1000"),
        ({"query": "q", "mode": "sparse"}, 422, "'bm25', 'dense' or 'hybrid'"),
        ({"query": "q", "filters": {"author": "x"}}, 400, "unknown filter field 'author'; filterable fields: journal, year"),
        ({"query": "q", "filters": {"journal": {"gte": 1}}}, 400, "ranges need an integer field"),
        ({"query": "q", "size": 3}, 422, "Extra inputs are not permitted"),
        ({"query": "q", "instruction": "  "}, 400, "instruction is empty"),
    ],
)
def test_bad_requests_are_clear_4xx(api: TestClient, body: dict, status: int, detail: str) -> None:  # type: ignore[type-arg]
    response = api.post("/v1/search", json=body)
    assert response.status_code == status
    assert detail in json.dumps(response.json())


def test_not_found_and_injection(api: TestClient) -> None:
    assert api.get("/v1/documents/no-such-doc").status_code == 404
    missing = api.post("/v1/search?index=no-such-index", json={"query": "q"})
    assert missing.status_code == 404 and "no-such-index" in missing.json()["detail"]
    assert api.post("/v1/search?index=../_all", json={"query": "q"}).status_code == 422
    # DSL in the text is only ever a value: it is searched for, never interpreted.
    hostile = '{"match_all": {}}", "query": {"script": {"source": "1"}}'
    response = api.post("/v1/search", json={"query": hostile, "mode": "bm25"})
    assert response.status_code == 200


def test_api_key(opensearch_url: str, proxy_index: str, minilm, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HYBRID_PROXY_API_KEYS", '["s3cret-key"]')
    settings = load_settings(opensearch_url=opensearch_url, index=proxy_index)
    with TestClient(create_app(settings, encoder=minilm)) as client:
        assert client.post("/v1/search", json={"query": "q"}).status_code == 401
        assert client.post("/v1/search", json={"query": "q"}, headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.post("/v1/search", json={"query": "q"}, headers={"X-API-Key": "s3cret-key"}).status_code == 200
        assert client.get("/healthz").status_code == 200  # probes need no key


def test_node_down_is_503_then_recovers(minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from opensearchpy import OpenSearch

    with dedicated_node("proxy") as (manager, name, info):
        ingest_sample(OpenSearchTarget(OpenSearch(hosts=[info.url])), "down", minilm, tmp_path, limit=30, passages=False)
        proxy_settings = load_settings(opensearch_url=info.url, index="down", proxy_timeout_s=2.0)
        with TestClient(create_app(proxy_settings, encoder=minilm)) as api:
            assert api.post("/v1/search", json={"query": "statin"}).status_code == 200
            manager.node(name).stop()
            started = time.monotonic()
            down = api.post("/v1/search", json={"query": "statin"})
            assert down.status_code == 503
            assert down.json()["detail"] == f"cannot reach OpenSearch at {info.url} (connection refused)"
            assert time.monotonic() - started < 10
            assert api.get("/readyz").status_code == 503
            manager.start(name, port=info.http_port, heap_mb=256, timeout_s=180)
            deadline = time.monotonic() + 60
            status = 0
            while time.monotonic() < deadline and status != 200:
                status = api.post("/v1/search", json={"query": "statin"}).status_code
                time.sleep(0.5)
            assert status == 200  # recovered without restarting the proxy
            assert api.get("/readyz").status_code == 200
