"""The proxy on the embedded backend (TestClient): each index searched with its own encoder, the
status codes of the error table, paging over one list, explain, CORS, the index list."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.encoders import load_encoder
from hybrid.proxy import create_app
from hybrid.settings import load_settings
from tests.integration.helpers import ingest_sample
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

QUERY = "protein gene mice in the cancer trial"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two indices built by two different free-form models (tiny GPT-NeoX, different weights)."""
    folder = tmp_path_factory.mktemp("proxy")
    for name, seed in (("first", 0), ("second", 1)):
        model = save_tiny_gpt_neox(folder / f"model-{name}", seed=seed)
        encoder = load_encoder(str(model), device="cpu", precision="fp32", max_length=64)
        target = EmbeddedTarget(folder / "idx")
        ingest_sample(target, name, encoder, folder, limit=None if name == "first" else 40)
        target.close()
    return folder


@pytest.fixture(scope="module")
def api(root: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(embedded_dir=root / "idx", index="first", proxy_cors_origins=["http://app.example"])
    with TestClient(create_app(settings)) as client:
        yield client


def test_each_index_is_searched_with_the_encoder_that_built_it(api: TestClient) -> None:
    for index in ("first", "second"):
        response = api.post(f"/v1/search?index={index}", json={"query": QUERY, "mode": "dense", "k": 3})
        assert response.status_code == 200, response.text
        assert response.json()["index"] == index and len(response.json()["hits"]) == 3
    ready = api.get("/readyz").json()
    assert ready["backend"] == "embedded" and ready["encoders"] == ["model-first", "model-second"]


def test_paging_walks_one_list(api: TestClient) -> None:
    fusion = {"window": 300}
    whole = api.post("/v1/search", json={"query": QUERY, "k": 300, "fusion": fusion}).json()["hits"]
    pages = []
    for offset in range(0, 300, 30):
        pages += api.post("/v1/search", json={"query": QUERY, "k": 30, "from": offset, "fusion": fusion}).json()["hits"]
    assert [h["id"] for h in pages] == [h["id"] for h in whole]
    assert len({h["id"] for h in pages}) == 300 and [h["rank"] for h in pages] == list(range(1, 301))


def test_explain_adds_each_sides_rank_and_score(api: TestClient) -> None:
    plain = api.post("/v1/search", json={"query": QUERY, "k": 5}).json()["hits"]
    assert all("bm25" not in h and "dense" not in h for h in plain)
    answer = api.post("/v1/search", json={"query": QUERY, "k": 5, "explain": True,
                                          "fusion": {"method": "rrf", "rank_constant": 10}}).json()
    assert answer["fusion"] == {"method": "rrf", "bm25_weight": 1.0, "dense_weight": 1.0}
    explained = answer["hits"]
    for hit in explained:
        sides = [hit[s] for s in ("bm25", "dense") if s in hit]
        assert hit["score"] == pytest.approx(sum(1 / (10 + side["rank"]) for side in sides))
        assert all(side["normalized"] == pytest.approx(1 / (10 + side["rank"])) for side in sides)
        assert sorted(s for s in ("bm25", "dense") if s in hit) == sorted(hit["found_by"])


def test_dense_hits_name_the_passage_that_matched(api: TestClient) -> None:
    hits = api.post("/v1/search", json={"query": QUERY, "k": 10, "mode": "dense"}).json()["hits"]
    assert hits and all(len(h["passage"]) == 2 and 0 <= h["passage"][0] < h["passage"][1] for h in hits)
    assert any(h["passage"][0] > 0 for h in hits)  # the tiny encoder's 64-token window splits the abstracts
    assert all(h["snippet"].startswith("… ") == (h["passage"][0] > 0) for h in hits)  # the snippet starts there
    bm25 = api.post("/v1/search", json={"query": QUERY, "k": 10, "mode": "bm25"}).json()["hits"]
    assert all("passage" not in h for h in bm25)


@pytest.mark.parametrize(
    ("url", "body", "status", "detail"),
    [
        ("/v1/search", {"query": QUERY, "from": 195}, 400, "from + k = 205 is past the end of the ranked list"),
        ("/v1/search", {"query": QUERY, "mode": "bm25", "fusion": {"bm25_window": 5}}, 400,
         "raise the bm25 window to at least 10"),
        ("/v1/search", {"query": QUERY, "filters": {"mesh": "Aged"}}, 400,
         "unknown filter field 'mesh'; filterable fields: journal, year"),
        ("/v1/search", {"query": QUERY, "fusion": {"window": 0}}, 422, "greater than or equal to 1"),
        ("/v1/search", {"query": QUERY, "fusion": {"window": 10_001}}, 422, "less than or equal to 10000"),
        ("/v1/search", {"query": QUERY, "from": 10_000}, 422, "less than or equal to 9999"),
        ("/v1/search", {"query": QUERY, "k": 1001}, 422, "less than or equal to 1000"),
        ("/v1/search?index=missing", {"query": QUERY}, 404, "no embedded index 'missing'"),
        ("/v1/search?index=Upper", {"query": QUERY}, 422, "String should match pattern"),
    ],
)
def test_error_statuses(api: TestClient, url: str, body: dict, status: int, detail: str) -> None:  # type: ignore[type-arg]
    response = api.post(url, json=body)
    assert response.status_code == status, response.text
    assert detail in str(response.json()["detail"])


def test_an_index_built_with_another_encoder_is_409(root: Path) -> None:
    other = load_encoder(str(root / "model-second"), device="cpu", precision="fp32", max_length=64)
    settings = load_settings(embedded_dir=root / "idx", index="first")
    with TestClient(create_app(settings, encoder=other)) as client:  # one encoder for every index
        assert client.post("/v1/search", json={"query": QUERY, "mode": "bm25"}).status_code == 200  # BM25 needs none
        response = client.post("/v1/search", json={"query": QUERY, "mode": "hybrid"})
        assert response.status_code == 409 and "index 'first' was built with encoder model-first" in response.json()["detail"]
        assert client.post("/v1/search?index=second", json={"query": QUERY}).status_code == 200


def test_indices_documents_and_health(api: TestClient) -> None:
    listed = {i["name"]: i for i in api.get("/v1/indices").json()}
    assert {n: i["documents"] for n, i in listed.items()} == {"first": 400, "second": 40}
    assert listed["first"]["fingerprint"]["model_id"] == "model-first"
    assert [n for n, i in listed.items() if i["default"]] == ["first"]
    assert listed["first"]["metadata_fields"] == {"year": "integer", "journal": "keyword"}
    hit = api.post("/v1/search", json={"query": QUERY, "mode": "bm25", "k": 1}).json()["hits"][0]
    document = api.get(f"/v1/documents/{hit['id']}").json()
    assert document["title"] == hit["title"] and set(document["metadata"]) == {"year", "journal"}
    assert api.get("/v1/documents/nope").status_code == 404
    assert api.get("/v1/documents/x?index=missing").status_code == 404
    assert api.get("/healthz").json() == {"status": "ok"}


def test_cors_allows_only_the_configured_origins(api: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = api.options("/v1/search", headers={"Origin": "http://app.example", **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "http://app.example"
    other = api.options("/v1/search", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    simple = api.post("/v1/search", json={"query": QUERY, "mode": "bm25"}, headers={"Origin": "http://app.example"})
    assert simple.headers["access-control-allow-origin"] == "http://app.example"


def test_a_search_link_answers_as_the_same_post(api: TestClient) -> None:
    """GET /v1/search?query=… (a shareable link, curl without a body): the body's plain fields as parameters."""
    body = {"query": QUERY, "mode": "bm25", "k": 7, "from": 3, "explain": True, "highlight": True}
    posted = api.post("/v1/search?index=second", json=body).json()
    linked = api.get("/v1/search", params={**body, "index": "second", "explain": "true", "highlight": "1"})
    assert linked.status_code == 200, linked.text
    drop = ("took_ms",)
    assert {k: v for k, v in linked.json().items() if k not in drop} == {k: v for k, v in posted.items() if k not in drop}
    assert linked.json()["index"] == "second" and [h["rank"] for h in linked.json()["hits"]] == list(range(4, 11))
    default = api.get("/v1/search", params={"query": QUERY}).json()
    assert default["index"] == "first" and default["mode"] == "hybrid" and len(default["hits"]) == 10
    for params, where in [({}, "query"), ({"query": QUERY, "k": 0}, "k"), ({"query": QUERY, "filters": "x"}, "filters"),
                          ({"query": QUERY, "index": "Bad Name"}, "index"), ({"query": QUERY, "mode": "fuzzy"}, "mode")]:
        refused = api.get("/v1/search", params=params)
        assert refused.status_code == 422, params
        assert where in refused.text, params  # the detail names the parameter


def test_large_answers_are_gzipped_for_clients_that_accept_it(api: TestClient) -> None:
    import gzip
    import json

    body = {"query": QUERY, "k": 50, "explain": True}
    plain = api.post("/v1/search", json=body, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and len(plain.content) > 2048
    # httpx would decode it transparently: read the raw stream to see what travelled
    with api.stream("POST", "/v1/search", json=body, headers={"Accept-Encoding": "gzip"}) as packed:
        raw = b"".join(packed.iter_raw())
        assert packed.headers["content-encoding"] == "gzip"
    assert len(raw) < len(plain.content) / 2
    assert json.loads(gzip.decompress(raw))["hits"] == plain.json()["hits"]
    small = api.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under the 2 KB floor: not worth compressing


def test_fusion_fields_left_out_come_from_the_indexs_default(root: Path) -> None:
    from hybrid.backends.embedded.backend import EmbeddedBackend
    from hybrid.retrieval import FusionConfig

    stored = FusionConfig("dbsf", 60, 50, 50, 1.0, 0.5)
    backend = EmbeddedBackend(root / "idx")
    backend.update_record("second", {"default_fusion": {"config": stored.to_record(), "chosen_by": "test"}})
    settings = load_settings(embedded_dir=root / "idx", index="second")
    spelled = {"method": "dbsf", "window": 50, "bm25_weight": 1.0, "dense_weight": 0.5}

    def hits(fusion: dict[str, object] | None) -> list[tuple[str, float]]:
        body: dict[str, object] = {"query": QUERY, "k": 20, **({"fusion": fusion} if fusion is not None else {})}
        response = client.post("/v1/search", json=body)
        assert response.status_code == 200, response.text
        return [(h["id"], h["score"]) for h in response.json()["hits"]]

    try:
        with TestClient(create_app(settings)) as client:
            assert hits(None) == hits(spelled) != hits({"method": "rrf", "window": 100, "dense_weight": 1.0})
            assert hits({"dense_weight": 2.0}) == hits({**spelled, "dense_weight": 2.0})  # one field changed
    finally:
        backend.update_record("second", {"default_fusion": None})
        backend.close()


def test_facets_count_the_ranked_list(api: TestClient) -> None:
    body = {"query": QUERY, "k": 3, "filters": {"year": {"gte": 2010}}}
    assert "facets" not in api.post("/v1/search", json=body).json()
    answer = api.post("/v1/search", json={**body, "facets": ["journal", "year"]}).json()
    whole = api.post("/v1/search", json={**body, "k": answer["candidates"]}).json()["hits"]
    years: dict[int, int] = {}
    journals: dict[str, int] = {}
    for hit in whole:
        years[hit["metadata"]["year"]] = years.get(hit["metadata"]["year"], 0) + 1
        journals[hit["metadata"]["journal"]] = journals.get(hit["metadata"]["journal"], 0) + 1
    assert answer["facets"] == {
        "journal": [{"value": v, "count": n} for v, n in sorted(journals.items(), key=lambda item: (-item[1], item[0]))],
        "year": [{"value": v, "count": n} for v, n in sorted(years.items())],
    }
    assert min(years) >= 2010 and len(answer["hits"]) == 3
    bad = api.post("/v1/search", json={**body, "facets": ["mesh"]})
    assert bad.status_code == 400 and "unknown facet field 'mesh'" in bad.json()["detail"]
    assert api.post("/v1/search", json={**body, "facets": [f"f{i}" for i in range(9)]}).status_code == 422


def test_highlights_mark_the_query_words_in_title_and_snippet(api: TestClient) -> None:
    from hybrid.analysis import analyze

    plain = api.post("/v1/search", json={"query": QUERY, "k": 10}).json()["hits"]
    assert all("highlight" not in h for h in plain)
    hits = api.post("/v1/search", json={"query": QUERY, "k": 10, "highlight": True}).json()["hits"]
    terms = set(analyze(QUERY))
    marked = 0
    for hit in hits:
        h = hit["highlight"]
        words = [hit["title"][s:e] for s, e in h["title"]] + [hit["snippet"][s:e] for s, e in h["snippet_spans"]]
        assert all(analyze(w) and analyze(w)[0] in terms for w in words)
        assert h["chosen_by"] == ("dense" if hit["found_by"] == ["dense"] else "bm25")
        marked += len(words)
    assert marked > 0


def test_rerank_through_the_proxy(root: Path, tmp_path: Path) -> None:
    """The settings' cross-encoder (a real one, tiny) loads at start; a body's rerank reorders the window
    by its scores, explain shows them, pages stay one list, and no reranker configured is a 400."""
    from tests.unit.encoders.tiny_models import save_tiny_cross_encoder

    model = save_tiny_cross_encoder(tmp_path / "ce")
    settings = load_settings(embedded_dir=root / "idx", index="first", reranker=str(model), rerank=6)
    with TestClient(create_app(settings)) as client:
        body = {"query": QUERY, "mode": "bm25", "k": 4, "explain": True}
        first = client.post("/v1/search", json=body).json()  # the setting's window of 6 applies
        second = client.post("/v1/search", json={**body, "from": 4}).json()
        plain = client.post("/v1/search", json={**body, "k": 8, "rerank": 0}).json()
    hits = first["hits"] + second["hits"]
    assert first["reranker"].startswith(f"{model} (weights:") and second["reranker"] is not None
    scores = [h.get("rerank") for h in hits]
    assert all(s is not None for s in scores[:6]) and scores[6:] == [None, None]
    assert scores[:6] == sorted(scores[:6], reverse=True)
    assert {h["id"] for h in hits[:6]} == {h["id"] for h in plain["hits"][:6]}
    assert [h["id"] for h in hits[6:]] == [h["id"] for h in plain["hits"][6:]]
    assert "reranker" not in plain and all("rerank" not in h for h in plain["hits"])
    with TestClient(create_app(load_settings(embedded_dir=root / "idx", index="first"))) as client:
        refused = client.post("/v1/search", json={"query": QUERY, "mode": "bm25", "rerank": 5})
        too_deep = client.post("/v1/search", json={"query": QUERY, "mode": "bm25", "rerank": 5000})
    assert refused.status_code == 400 and "needs a cross-encoder" in refused.json()["detail"]
    assert too_deep.status_code == 422
