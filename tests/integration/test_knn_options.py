"""HNSW options on the real node: `--ef-search` reaches Lucene's k-NN (with a candidate list as large as
the index, its answer is the exact nearest neighbours), and `--vector-compression sq` builds a scalar-
quantised field whose neighbours stay close to the exact ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hybrid.cli import main
from hybrid.cli.errors import OK
from hybrid.encoders import load_encoder

pytestmark = pytest.mark.opensearch

DOCS = 80
QUERY = "vitamin D supplementation and bone mineral density"


def _dense_ids(index: str, capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    capsys.readouterr()
    assert main(["search", QUERY, "--index", index, "--mode", "dense", "--k", "10", "--json", *extra]) == OK
    return [hit["doc_id"] for hit in json.loads(capsys.readouterr().out)["hits"]]


def test_ef_search_and_scalar_quantisation(opensearch_url: str, opensearch_client, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HYBRID_OPENSEARCH_URL", opensearch_url)
    plain, compressed = f"test-float-{os.getpid()}", f"test-sq-{os.getpid()}"
    try:
        for index, compression in ((plain, "none"), (compressed, "sq")):
            assert main(["ingest", "sample", "--index", index, "--limit", str(DOCS), "--replicas", "0", "--quiet",
                         "--vector-compression", compression, "--rejects", str(tmp_path / f"{index}.jsonl")]) == OK
        physical = next(iter(opensearch_client.indices.get_alias(name=compressed)))
        mapping = opensearch_client.indices.get_mapping(index=physical)[physical]["mappings"]
        method = mapping["properties"]["passages"]["properties"]["vector"]["method"]
        assert method["engine"] == "lucene" and method["parameters"]["encoder"]["name"] == "sq"

        # The exact top 10 by definition: each document's best cosine over its passages' stored vectors.
        stored = opensearch_client.search(index=plain, body={"size": DOCS, "_source": ["doc_id", "passages"]})["hits"]["hits"]
        ids = [hit["_source"]["doc_id"] for hit in stored]
        query = load_encoder("minilm").encode_queries([QUERY])[0]  # as `hybrid search` embeds it
        query /= np.linalg.norm(query)
        best = []
        for hit in stored:
            vectors = np.array([p["vector"] for p in hit["_source"]["passages"]], dtype=np.float32)
            best.append(float((vectors / np.linalg.norm(vectors, axis=1, keepdims=True) @ query).max()))
        exact = [ids[i] for i in np.argsort(-np.array(best), kind="stable")[:10]]

        assert _dense_ids(plain, capsys, "--ef-search", str(4 * DOCS)) == exact
        # int7 codes move scores a little: the same neighbours, give or take one or two at the edge.
        assert len(set(_dense_ids(compressed, capsys, "--ef-search", str(4 * DOCS))) & set(exact)) >= 8
        assert main(["search", QUERY, "--index", plain, "--ef-search", "0"]) != OK
        assert "ef_search=0 is out of range 1..10000" in capsys.readouterr().err
    finally:
        opensearch_client.indices.delete(index="test-float-*,test-sq-*", ignore_unavailable=True)

