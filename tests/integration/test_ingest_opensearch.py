"""`hybrid ingest` into the real OpenSearch node: round trip, rejects, PubMed, SIGKILL resume, alias swap."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hybrid.backends.base import IndexOptions
from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.beir import iter_corpus
from hybrid.data import sample_dir
from hybrid.encoders import load_encoder
from hybrid.ingest.pipeline import IngestError, IngestOptions, run_ingest
from hybrid.ingest.sources import FieldMap, FieldOverrides, open_source
from hybrid.recipes import FingerprintMismatchError, passage_text
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox
from tests.unit.ingest.bad_records import EXPECTED_REJECTS, GOOD_IDS, write_bad_source

pytestmark = pytest.mark.opensearch
PUBMED = Path(__file__).resolve().parents[1] / "fixtures" / "pubmed_sample.xml"


def _ingest(client, index: str, source, encoder, tmp_path: Path, *, replicas: int = 0, **options):  # type: ignore[no-untyped-def]
    target = OpenSearchTarget(client, chunk_docs=50)
    return run_ingest(
        source, index=index, encoder=encoder, target=target, rejects_path=tmp_path / "rejects.jsonl",
        metadata_fields=dict(source.fields.metadata), index_options=IndexOptions(replicas=replicas),
        options=IngestOptions(batch_size=32, **options),
    ), target


def _ids(client, index: str) -> list[str]:  # type: ignore[no-untyped-def]
    client.indices.refresh(index=index)
    hits = client.search(index=index, body={"size": 1000, "_source": False, "query": {"match_all": {}}})
    return sorted(h["_id"] for h in hits["hits"]["hits"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_encoder(str(save_tiny_gpt_neox(tmp_path_factory.mktemp("m"))), device="cpu", precision="fp32", max_length=32)


def test_round_trip_on_scifact(opensearch_client, index_name: str, minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary, target = _ingest(opensearch_client, index_name, open_source(sample_dir()), minilm, tmp_path,
                              replicas=1, limit=96)
    docs = list(iter_corpus(sample_dir()))[:96]
    assert summary.indexed == 96 and summary.index_count == 96
    physical = target.physical
    assert opensearch_client.indices.get_alias(name=index_name) == {physical: {"aliases": {index_name: {}}}}
    assert _ids(opensearch_client, index_name) == sorted(d.id for d in docs)

    mapping = opensearch_client.indices.get_mapping(index=physical)[physical]["mappings"]
    for field in ("title", "text"):  # both copied into the one field BM25 scores
        assert mapping["properties"][field] == {"type": "text", "analyzer": "english", "copy_to": ["body"]}
    assert mapping["properties"]["body"] == {"type": "text", "analyzer": "english"}
    passages = mapping["properties"]["passages"]  # long documents as passages: one nested object each
    assert passages["type"] == "nested"
    assert passages["properties"]["start"] == passages["properties"]["end"] == {"type": "integer", "index": False}
    vector = passages["properties"]["vector"]
    assert vector["dimension"] == 384 and vector["method"]["engine"] == "lucene"
    assert vector["method"]["space_type"] == "cosinesimil"  # MiniLM's similarity is cosine
    assert mapping["_meta"]["hybrid"]["fingerprint"] == minilm.fingerprint.to_meta()
    assert mapping["_meta"]["hybrid"]["state"] == "ready"
    assert mapping["_meta"]["hybrid"]["passages"] == {"window": 256, "overlap": 64}

    settings = opensearch_client.indices.get_settings(index=physical)[physical]["settings"]["index"]
    assert settings["refresh_interval"] == "1s" and settings["number_of_replicas"] == "1"  # restored after the load

    # Each document's passages: spans covering its text in order, each embedded with the title in front.
    sample = docs[:10]
    got = opensearch_client.mget(index=index_name, body={"ids": [d.id for d in sample]})["docs"]
    split = 0
    for doc, hit in zip(sample, got):
        passages_of = hit["_source"]["passages"]
        spans = [(p["start"], p["end"]) for p in passages_of]
        assert spans[0][0] == 0 and spans[-1][1] == len(doc.text)
        split += len(spans) > 1
        expected = minilm.encode_passages([passage_text(doc.title, doc.text[a:b]) for a, b in spans])
        np.testing.assert_allclose(np.array([p["vector"] for p in passages_of], dtype=np.float32), expected,
                                   rtol=1e-5, atol=1e-6)
    assert split > 0  # some SciFact abstracts are longer than MiniLM's 256 tokens


def test_rejects_and_good_records(opensearch_client, index_name: str, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = open_source(write_bad_source(tmp_path), "jsonl", FieldOverrides(metadata=(("year", "integer"),)))
    summary, _ = _ingest(opensearch_client, index_name, source, tiny, tmp_path)
    assert _ids(opensearch_client, index_name) == sorted(GOOD_IDS)
    assert summary.rejected == len(EXPECTED_REJECTS)
    lines = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [(r["position"], r["id"]) for r in lines] == [(f"mixed.jsonl:{n}", i) for n, _, i in EXPECTED_REJECTS]
    years = opensearch_client.search(index=index_name, body={"query": {"range": {"year": {"gte": 2019}}}})
    assert sorted(h["_id"] for h in years["hits"]["hits"]) == ["g1", "g3"]  # "2019" string became an integer


def test_pubmed_metadata_is_filterable(opensearch_client, index_name: str, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    summary, _ = _ingest(opensearch_client, index_name, open_source(PUBMED), tiny, tmp_path)
    assert summary.indexed == 3 and summary.rejected == 0  # the letter without an abstract too: by its title
    letter = opensearch_client.search(index=index_name, body={"query": {"match": {"title": "letters"}}})["hits"]["hits"]
    assert [h["_id"] for h in letter] == ["28000002"] and letter[0]["_source"]["text"] == ""
    body = {"query": {"bool": {"filter": [{"term": {"mesh": "Cholesterol, LDL"}}, {"range": {"year": {"gte": 2018}}},
                                          {"term": {"publication_types": "Randomized Controlled Trial"}}]}}}
    hits = opensearch_client.search(index=index_name, body=body)["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["31452104"]
    assert hits[0]["_source"]["journal"] == "Journal of Lipid Research"
    stemmed = opensearch_client.search(index=index_name, body={"query": {"match": {"text": "sequencing"}}})
    assert [h["_id"] for h in stemmed["hits"]["hits"]] == ["28000001"]


def test_other_encoder_refused_then_reindex_swaps_alias(opensearch_client, index_name: str, tiny, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, first = _ingest(opensearch_client, index_name, open_source(sample_dir()), tiny, tmp_path, limit=20)
    other = load_encoder(str(save_tiny_gpt_neox(tmp_path / "other", seed=3)), device="cpu", precision="fp32",
                         max_length=32)
    with pytest.raises(FingerprintMismatchError, match="re-ingest with --reindex"):
        _ingest(opensearch_client, index_name, open_source(sample_dir()), other, tmp_path, limit=20)

    # A reindex that fails half-way leaves the alias on the old index, untouched.
    class Boom(Exception):
        pass

    def failing():  # type: ignore[no-untyped-def]
        for n, record in enumerate(open_source(sample_dir()).records):
            if n == 40:  # after the first batch of 32 was handed to the writer
                raise Boom
            yield record

    from hybrid.ingest.sources import Source

    with pytest.raises(IngestError, match="stopped by Boom") as stopped:
        _ingest(opensearch_client, index_name, Source(failing(), FieldMap.beir(), "beir"), other, tmp_path, reindex=True)
    assert isinstance(stopped.value.__cause__, Boom)
    assert list(opensearch_client.indices.get_alias(name=index_name)) == [first.physical]
    assert len(_ids(opensearch_client, index_name)) == 20

    summary, second = _ingest(opensearch_client, index_name, open_source(sample_dir()), other, tmp_path,
                              limit=60, reindex=True)
    assert summary.skipped == 32 and summary.indexed == 28  # resumed the interrupted reindex
    assert list(opensearch_client.indices.get_alias(name=index_name)) == [second.physical]
    assert not opensearch_client.indices.exists(index=first.physical)
    assert _ids(opensearch_client, index_name) == sorted(d.id for d in list(iter_corpus(sample_dir()))[:60])
    meta = opensearch_client.indices.get_mapping(index=second.physical)[second.physical]["mappings"]["_meta"]
    assert meta["hybrid"]["fingerprint"]["id"] == other.fingerprint.id


def test_sigkill_mid_ingest_then_rerun_gives_exact_set(opensearch_client, opensearch_url: str, index_name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    total = 240
    cmd = [sys.executable, "-m", "hybrid", "ingest", "sample", "--index", index_name, "--limit", str(total),
           "--batch-size", "16", "--replicas", "0", "--opensearch-url", opensearch_url, "--quiet",
           "--rejects", str(tmp_path / "rejects.jsonl")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    seed = int(time.time())
    kill_at = random.Random(seed).randint(20, total - 60)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    indexed = 0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            if not opensearch_client.indices.exists_alias(name=index_name):
                continue
            opensearch_client.indices.refresh(index=index_name)
            indexed = opensearch_client.count(index=index_name)["count"]
            if indexed >= kill_at:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert 0 < indexed < total, f"kill point missed (seed {seed}): {indexed} of {total} indexed"

    rerun = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    expected = sorted(d.id for d in list(iter_corpus(sample_dir()))[:total])
    assert _ids(opensearch_client, index_name) == expected  # none lost, none duplicated
    assert summary["skipped"] >= indexed and summary["skipped"] + summary["indexed"] == total
    assert summary["index_count"] == total


def test_node_restart_mid_ingest_then_rerun_gives_exact_set(minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import threading

    from opensearchpy import OpenSearch

    from tests.integration.helpers import dedicated_node

    with dedicated_node("restart") as (manager, name, info):
        client = OpenSearch(hosts=[info.url], timeout=10)
        watcher = OpenSearch(hosts=[info.url], timeout=5)
        stopped_at: list[int] = []

        def stop_when_loading() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                time.sleep(0.2)
                try:
                    if watcher.indices.exists_alias(name="restart"):
                        watcher.indices.refresh(index="restart")
                        count = watcher.count(index="restart")["count"]
                        if count >= 64:
                            stopped_at.append(count)
                            manager.node(name).stop()
                            return
                except Exception:  # noqa: BLE001 - the index may not exist yet
                    continue

        killer = threading.Thread(target=stop_when_loading)
        killer.start()
        with pytest.raises(IngestError):
            _ingest(client, "restart", open_source(sample_dir()), minilm, tmp_path)
        killer.join(timeout=130)
        assert stopped_at and stopped_at[0] < 400, "the node was not stopped mid-ingest"

        manager.start(name, port=info.http_port, heap_mb=256, timeout_s=180)
        client = OpenSearch(hosts=[info.url], timeout=30)
        summary, target = _ingest(client, "restart", open_source(sample_dir()), minilm, tmp_path)
        assert summary.skipped >= stopped_at[0] and summary.skipped + summary.indexed == 400
        assert _ids(client, "restart") == sorted(d.id for d in iter_corpus(sample_dir()))
        settings_after = client.indices.get_settings(index=target.physical)[target.physical]["settings"]["index"]
        assert settings_after["refresh_interval"] == "1s"  # restored by the rerun
