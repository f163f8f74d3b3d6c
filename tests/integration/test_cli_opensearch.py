"""The CLI against the real node: `eval --ingest` with the evaluation's own settings, `tune` storing the
index's default fusion in its mapping, `search` paging, and a TLS handshake against the node's plain-HTTP
port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.cli import main
from hybrid.cli.errors import UNAVAILABLE
from hybrid.retrieval import FusionConfig
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

pytestmark = pytest.mark.opensearch


def test_eval_ingest_and_tune_on_opensearch(opensearch_url: str, opensearch_client, index_name: str,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    model = save_tiny_gpt_neox(tmp_path / "m")
    config = tmp_path / "hybrid.toml"
    config.write_text(f'model = "{model}"\nopensearch_url = "{opensearch_url}"\n')
    argv = ["--config", str(config), "eval", "--dataset", "sample", "--index", index_name, "--ingest",
            "--timeout", "45", "--out", str(tmp_path / "e.json"), "--chart", str(tmp_path / "e.png")]
    assert main(argv) == 0, capsys.readouterr().err
    physical = next(iter(opensearch_client.indices.get_alias(name=index_name)))
    record = opensearch_client.indices.get_mapping(index=physical)[physical]["mappings"]["_meta"]["hybrid"]
    assert record["encoder_source"] == str(model) and record["fingerprint"]["model_id"] == "m"
    # Ingest calibrated both sides on pseudo-queries from a random sample the node drew (random_score).
    calibration = record["calibration"]
    assert calibration["queries"] >= 100 and calibration["bm25_self_hit"] > 0.9 > calibration["dense_self_hit"]
    assert opensearch_client.count(index=index_name)["count"] == 400
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["backend"] == f"OpenSearch at {opensearch_url}" and data["queries"] == 60
    # The index's own encoder is found from its record: search needs no --model.
    assert main(["search", "protein gene", "--index", index_name, "--opensearch-url", opensearch_url, "--json"]) == 0

    # A default that reads only the (random) dense side: tune must find a better fusion and store it.
    record["default_fusion"] = {"config": FusionConfig("rrf", bm25_weight=0.0).to_record(), "chosen_by": "this test"}
    opensearch_client.indices.put_mapping(index=physical, body={"_meta": {"hybrid": record}})
    # tune stores its best in the mapping's record (the physical index behind the alias); eval then runs it.
    assert main(["tune", "--dataset", "sample", "--index", index_name, "--opensearch-url", opensearch_url,
                 "--out", str(tmp_path / "t.json")]) == 0
    report = json.loads((tmp_path / "t.json").read_text())
    record = opensearch_client.indices.get_mapping(index=physical)[physical]["mappings"]["_meta"]["hybrid"]
    assert report["stored"] and record["default_fusion"]["config"] == report["best"]["fusion"]
    assert main(["eval", "--dataset", "sample", "--index", index_name, "--opensearch-url", opensearch_url,
                 "--out", str(tmp_path / "e2.json"), "--chart", str(tmp_path / "e2.png")]) == 0
    tuned = json.loads((tmp_path / "e2.json").read_text())
    assert tuned["metrics"]["hybrid"]["nDCG@10"] == pytest.approx(report["best"]["nDCG@10"])
    assert main(["tune", "--dataset", "sample", "--index", index_name, "--opensearch-url", opensearch_url, "--reset"]) == 0
    record = opensearch_client.indices.get_mapping(index=physical)[physical]["mappings"]["_meta"]["hybrid"]
    assert "default_fusion" not in record


def test_tls_against_the_nodes_plain_http_port(opensearch_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    https = opensearch_url.replace("http://", "https://")
    assert main(["search", "q", "--mode", "bm25", "--index", "anything", "--opensearch-url", https]) == UNAVAILABLE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: TLS with OpenSearch at {https} failed (")
