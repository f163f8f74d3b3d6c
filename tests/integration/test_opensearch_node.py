"""The node the manager builds is a real OpenSearch with Lucene k-NN and English analysis."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.opensearch

DOCS = {
    # id: (body, vector, year)
    "stem": ("Mice were running on treadmills", [1.0, 0.0, 0.0], 2019),
    "plain": ("The mouse genome was sequenced", [0.0, 1.0, 0.0], 2020),
    "near": ("Protein folding in yeast", [0.9, 0.1, 0.0], 2021),
    "far": ("Clinical trial of statins", [0.0, 0.0, 1.0], 2021),
}


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture
def knn_index(opensearch_client, index_name: str) -> str:
    opensearch_client.indices.create(
        index=index_name,
        body={
            "settings": {"index.knn": True, "number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {
                "properties": {
                    "body": {"type": "text", "analyzer": "english"},
                    "year": {"type": "integer"},
                    "vec": {
                        "type": "knn_vector",
                        "dimension": 3,
                        "method": {
                            "name": "hnsw",
                            "engine": "lucene",
                            "space_type": "cosinesimil",
                            "parameters": {"m": 16, "ef_construction": 100},
                        },
                    },
                }
            },
        },
    )
    actions = []
    for doc_id, (body, vec, year) in DOCS.items():
        actions += [{"index": {"_index": index_name, "_id": doc_id}}, {"body": body, "vec": vec, "year": year}]
    response = opensearch_client.bulk(body=actions, refresh=True)
    assert not response["errors"]
    return index_name


def test_mapping_is_lucene_hnsw(opensearch_client, knn_index: str) -> None:
    mapping = opensearch_client.indices.get_mapping(index=knn_index)[knn_index]["mappings"]["properties"]["vec"]
    assert mapping["type"] == "knn_vector"
    assert mapping["method"]["engine"] == "lucene"
    assert mapping["method"]["space_type"] == "cosinesimil"


def test_english_analyzer_stems(opensearch_client, knn_index: str) -> None:
    # "run" matches "running" only through the English stemmer; "mouse" never matches "Mice".
    hits = opensearch_client.search(index=knn_index, body={"query": {"match": {"body": "run"}}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["stem"]
    tokens = opensearch_client.indices.analyze(body={"analyzer": "english", "text": "The treadmills running"})
    assert [t["token"] for t in tokens["tokens"]] == ["treadmil", "run"]


def test_knn_returns_nearest_first_with_cosine_scores(opensearch_client, knn_index: str) -> None:
    query = [1.0, 0.05, 0.0]
    body = {"size": 4, "query": {"knn": {"vec": {"vector": query, "k": 4}}}}
    hits = opensearch_client.search(index=knn_index, body=body)["hits"]["hits"]
    expected_order = sorted(DOCS, key=lambda d: -_cosine(query, DOCS[d][1]))
    assert [h["_id"] for h in hits] == expected_order
    for hit in hits:  # Lucene cosinesimil score is (1 + cos) / 2.
        assert hit["_score"] == pytest.approx((1 + _cosine(query, DOCS[hit["_id"]][1])) / 2, rel=1e-4)


def test_knn_filter_is_applied_during_search(opensearch_client, knn_index: str) -> None:
    query = [1.0, 0.0, 0.0]
    body = {"size": 2, "query": {"knn": {"vec": {"vector": query, "k": 2, "filter": {"term": {"year": 2021}}}}}}
    hits = opensearch_client.search(index=knn_index, body=body)["hits"]["hits"]
    # Both 2021 documents come back (k filtered neighbours), though "stem" is nearer than "far".
    assert [h["_id"] for h in hits] == ["near", "far"]
    assert all(h["_source"]["year"] == 2021 for h in hits)


def test_painless_and_knn_plugins_are_loaded(opensearch_client) -> None:
    names = {row["component"] for row in opensearch_client.cat.plugins(format="json")}
    assert "opensearch-knn" in names
    modules = {m["name"] for node in opensearch_client.nodes.info()["nodes"].values() for m in node["modules"]}
    assert {"lang-painless", "analysis-common", "transport-netty4"} <= modules
