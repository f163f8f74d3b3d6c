"""The proxy's operator view: Prometheus counters and histograms that match the requests sent, request
ids echoed (the caller's when usable), one JSON access-log line per request, the query-embedding cache."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.encoders import load_encoder
from hybrid.proxy import create_app
from hybrid.proxy.batching import QueryEmbedder
from hybrid.settings import load_settings
from tests.integration.helpers import ingest_sample
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

QUERY = "protein gene mice in the cancer trial"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_encoder(str(save_tiny_gpt_neox(tmp_path_factory.mktemp("m"))), device="cpu", precision="fp32", max_length=32)


@pytest.fixture()
def api(tiny, tmp_path: Path):  # type: ignore[no-untyped-def]
    target = EmbeddedTarget(tmp_path / "idx")
    ingest_sample(target, "obs", tiny, tmp_path, limit=40)
    target.close()
    with TestClient(create_app(load_settings(embedded_dir=tmp_path / "idx", index="obs"), encoder=tiny)) as client:
        yield client


def _samples(api: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def test_metrics_count_what_was_asked(api: TestClient) -> None:
    for _ in range(2):
        assert api.post("/v1/search", json={"query": QUERY, "k": 5}).status_code == 200  # the second: cached vector
    assert api.post("/v1/search", json={"query": QUERY, "mode": "bm25"}).status_code == 200  # no embedding
    assert api.post("/v1/search?index=missing", json={"query": QUERY}).status_code == 404
    assert api.post("/v1/search", json={"query": ""}).status_code == 422
    assert api.get("/v1/documents/nope").status_code == 404
    m = _samples(api)

    def value(name: str, **labels: str) -> float:
        return m.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("hybrid_requests_total", route="/v1/search", method="POST", status="200") == 3
    assert value("hybrid_requests_total", route="/v1/search", method="POST", status="404") == 1
    assert value("hybrid_requests_total", route="/v1/search", method="POST", status="422") == 1
    assert value("hybrid_requests_total", route="/v1/documents/{doc_id}", method="GET", status="404") == 1
    assert value("hybrid_request_seconds_count", route="/v1/search") == 5
    assert value("hybrid_errors_total", kind="IndexNotFoundError") == 1
    assert value("hybrid_errors_total", kind="ValidationError") == 1
    assert value("hybrid_errors_total", kind="NotFound") == 1  # the missing document (an HTTP 404 of the route)
    for stage, searches in (("embed", 2), ("retrieve", 3), ("fusion", 3), ("fetch", 3)):
        assert value("hybrid_search_stage_seconds_count", stage=stage) == searches, stage
    assert value("hybrid_query_cache_lookups_total", result="miss") == 1
    assert value("hybrid_query_cache_lookups_total", result="hit") == 1
    assert value("hybrid_query_cache_hit_ratio") == 0.5
    assert value("hybrid_embed_batch_size_count") == 1 and value("hybrid_embed_batch_size_sum") == 1
    assert value("hybrid_embed_queue_wait_seconds_count") == 1


def test_request_ids_are_echoed_and_logged(api: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hybrid.access"):
        given = api.post("/v1/search", json={"query": QUERY, "k": 3}, headers={"X-Request-ID": "trace-42.a"})
        fresh = api.get("/healthz")
        unusable = api.get("/healthz", headers={"X-Request-ID": "no spaces <allowed>"})
        missing = api.get("/v1/indices?index=x", headers={"X-Request-ID": "r2"})
    assert given.headers["X-Request-ID"] == "trace-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", unusable.headers["X-Request-ID"])
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hybrid.access"]
    assert [(line["request_id"], line["route"], line["status"]) for line in lines] == [
        ("trace-42.a", "/v1/search", 200), (fresh.headers["X-Request-ID"], "/healthz", 200),
        (unusable.headers["X-Request-ID"], "/healthz", 200), ("r2", "/v1/indices", missing.status_code)]
    assert all(line["method"] in ("GET", "POST") and line["ms"] >= 0 for line in lines)


def test_query_cache_is_lru_and_shares_read_only_vectors(tiny) -> None:  # type: ignore[no-untyped-def]
    embedder = QueryEmbedder(tiny, cache_size=2)

    async def run() -> list[np.ndarray]:
        await embedder.start()
        try:
            return [await embedder.embed(q, None) for q in ("a b", "c d", "a b", "e f", "c d")]
        finally:
            await embedder.close()

    vectors = asyncio.run(run())
    # a, c missed; a hit (now the most recent); e missed and evicted c; c missed again
    assert embedder.batches == 4
    assert vectors[0] is vectors[2] and not vectors[0].flags.writeable
    for text, vector in zip(("a b", "c d", "a b", "e f", "c d"), vectors):
        np.testing.assert_allclose(vector, tiny.encode_queries([text])[0], rtol=1e-4, atol=1e-5)
