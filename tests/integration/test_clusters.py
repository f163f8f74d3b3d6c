"""Real clusters from the local manager: a secured node (TLS, users and roles) and a 3-node cluster with
nodes killed under ingest and search. Each instance is started once for this module and purged after."""

from __future__ import annotations

import json
import os
import random
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opensearchpy import OpenSearch

from bench.load import run_load, served_proxy, statuses, success_rate
from hybrid.backends.base import IndexOptions
from hybrid.backends.opensearch.backend import OpenSearchBackend
from hybrid.beir import iter_corpus, load_queries
from hybrid.cli import main
from hybrid.cli.errors import OK, REFUSED, UNAVAILABLE
from hybrid.data import sample_dir
from hybrid.ingest.pipeline import IngestError, IngestOptions, run_ingest
from hybrid.ingest.sources import open_source
from hybrid.local_opensearch import LocalCluster, Manager, manager_for
from hybrid.local_opensearch.security import Authority
from hybrid.proxy import create_app
from hybrid.retrieval import Searcher, SearchRequest
from hybrid.settings import load_settings

pytestmark = pytest.mark.opensearch

CORPUS_IDS = {doc.id for doc in iter_corpus(sample_dir())}


def _manager() -> Manager:
    manager = manager_for(load_settings())
    manager.install()
    return manager


@pytest.fixture(scope="module")
def secured() -> Iterator[LocalCluster]:
    manager = _manager()
    name = f"pytest-secure-{os.getpid()}"
    manager.start_cluster(name, secure=True, heap_mb=384, timeout_s=180)
    try:
        yield manager.cluster(name)
    finally:
        manager.cluster(name).purge()


@pytest.fixture(scope="module")
def three() -> Iterator[tuple[Manager, LocalCluster]]:
    manager = _manager()
    name = f"pytest-three-{os.getpid()}"
    manager.start_cluster(name, nodes=3, heap_mb=256, timeout_s=240)
    try:
        yield manager, manager.cluster(name)
    finally:
        manager.cluster(name).purge()


def _env_as(cluster: LocalCluster, user: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = ",".join(cluster.status().urls)
    monkeypatch.setenv("HYBRID_OPENSEARCH_URL", url)
    monkeypatch.setenv("HYBRID_OPENSEARCH_USER", user)
    monkeypatch.setenv("HYBRID_OPENSEARCH_PASSWORD", cluster.credentials().passwords[user])
    monkeypatch.setenv("HYBRID_OPENSEARCH_CA_CERTS", str(cluster.credentials().ca))
    return url


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(line for line in capsys.readouterr().err.splitlines() if line.startswith("error:"))


def test_secured_node_users_roles_and_failures(secured: LocalCluster, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path, minilm) -> None:  # type: ignore[no-untyped-def]
    credentials = secured.credentials()
    assert stat.S_IMODE((credentials.folder / "passwords.json").stat().st_mode) == 0o600
    url = _env_as(secured, "writer", monkeypatch)
    assert url.startswith("https://127.0.0.1:")
    assert main(["ingest", "sample", "--index", "secured", "--rejects", str(tmp_path / "r.jsonl")]) == OK

    # The reader searches through the CLI and the proxy ...
    _env_as(secured, "reader", monkeypatch)
    capsys.readouterr()
    assert main(["search", "vitamin D and bone density", "--index", "secured", "--json"]) == OK
    found = json.loads(capsys.readouterr().out)
    assert len(found["hits"]) == 10 and found["warnings"] == []
    with TestClient(create_app(load_settings(), encoder=minilm)) as api:
        answer = api.post("/v1/search?index=secured", json={"query": "vitamin D and bone density"})
        assert answer.status_code == 200
        assert [h["id"] for h in answer.json()["hits"]] == [h["doc_id"] for h in found["hits"]]
    # ... but may not build an index: a clear 403 naming the missing privileges and the index.
    assert main(["ingest", "sample", "--index", "secured-2", "--rejects", str(tmp_path / "r2.jsonl")]) == REFUSED
    refused = _error(capsys)
    assert "denied the request on index 'secured-2' (403: no permissions for [indices:admin/create" in refused
    assert "User [name=reader" in refused

    # A wrong password is a 401, a wrong CA a TLS failure that names the CA setting.
    monkeypatch.setenv("HYBRID_OPENSEARCH_PASSWORD", "not-the-password")
    assert main(["search", "vitamin D", "--index", "secured", "--mode", "bm25"]) == REFUSED
    assert "refused the credentials (401" in _error(capsys)
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(Authority().cert_pem)
    monkeypatch.setenv("HYBRID_OPENSEARCH_PASSWORD", credentials.passwords["reader"])
    monkeypatch.setenv("HYBRID_OPENSEARCH_CA_CERTS", str(other_ca))
    assert main(["search", "vitamin D", "--index", "secured", "--mode", "bm25"]) == UNAVAILABLE
    tls = _error(capsys)
    assert "TLS with OpenSearch at" in tls and "certificate verify failed" in tls and "HYBRID_OPENSEARCH_CA_CERTS" in tls

    # A client certificate authenticates without a password (as a reader).
    for key in ("HYBRID_OPENSEARCH_USER", "HYBRID_OPENSEARCH_PASSWORD"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("HYBRID_OPENSEARCH_CA_CERTS", str(credentials.ca))
    monkeypatch.setenv("HYBRID_OPENSEARCH_CLIENT_CERT", str(credentials.client_cert))
    monkeypatch.setenv("HYBRID_OPENSEARCH_CLIENT_KEY", str(credentials.client_key))
    assert main(["search", "vitamin D", "--index", "secured", "--mode", "bm25", "--json"]) == OK
    assert len(json.loads(capsys.readouterr().out)["hits"]) == 10


def _client(cluster: LocalCluster) -> OpenSearch:
    return OpenSearch(hosts=cluster.status().urls, timeout=60, max_retries=2, retry_on_timeout=True)


def _ids(client: OpenSearch, index: str) -> list[str]:
    from opensearchpy.helpers import scan

    client.indices.refresh(index=index)
    return [hit["_id"] for hit in scan(client, index=index, query={"query": {"match_all": {}}}, _source=False)]


def _ingest(settings, index: str, encoder, folder: Path, *, shards: int, replicas: int, target=None) -> None:  # type: ignore[no-untyped-def]
    backend = OpenSearchBackend(settings)
    try:
        run_ingest(open_source(sample_dir(), "beir"), index=index, encoder=encoder,
                   target=target or backend.ingest_target(), rejects_path=folder / "rejects.jsonl", metadata_fields={},
                   index_options=IndexOptions(shards=shards, replicas=replicas, passages=False),  # about nodes
                   options=IngestOptions(batch_size=50))
    finally:
        backend.close()


def _wait_green(client: OpenSearch, timeout_s: float = 120.0) -> str:
    health = client.cluster.health(params={"wait_for_status": "green", "timeout": f"{int(timeout_s)}s"},
                                   request_timeout=timeout_s + 10)
    return str(health["status"])


def test_three_shards_rank_as_one_shard(three, minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manager, cluster = three
    settings = load_settings(opensearch_url=",".join(cluster.status().urls))
    _ingest(settings, "ranks-three", minilm, tmp_path, shards=3, replicas=1)
    _ingest(settings, "ranks-one", minilm, tmp_path, shards=1, replicas=0)
    client = _client(cluster)
    assert sorted(_ids(client, "ranks-three")) == sorted(_ids(client, "ranks-one")) == sorted(CORPUS_IDS)
    client.close()
    backend = OpenSearchBackend(settings)
    try:
        queries = list(load_queries(sample_dir()).items())[:20]
        for mode in ("bm25", "dense", "hybrid"):
            for _, text in queries:
                pages = [Searcher(backend.search(index), minilm).search(SearchRequest(text, mode=mode, k=10))
                         for index in ("ranks-three", "ranks-one")]
                # The same documents in the same order. Each side's scores match too (BM25 with global
                # statistics); fused scores move slightly with the normalisation over the deeper windows.
                assert [h.doc_id for h in pages[0].hits] == [h.doc_id for h in pages[1].hits], (mode, text)
                if mode != "hybrid":
                    assert [h.score for h in pages[0].hits] == pytest.approx([h.score for h in pages[1].hits], rel=1e-4)
    finally:
        backend.close()


class KillingTarget:
    """Delegates to the real target; at write number ``at`` SIGKILLs a node and restarts it in the background."""

    def __init__(self, target, manager: Manager, cluster: LocalCluster, node: str, at: int) -> None:  # type: ignore[no-untyped-def]
        self.target, self.manager, self.cluster, self.node, self.at = target, manager, cluster, node, at
        self.writes = 0
        self.restart: threading.Thread | None = None

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.target, name)

    def write(self, docs, vectors):  # type: ignore[no-untyped-def]
        self.writes += 1
        if self.writes == self.at:
            assert self.cluster.stop_node(self.node, kill=True)
            self.restart = threading.Thread(
                target=lambda: self.manager.start_node(self.cluster.name, self.node, timeout_s=180), daemon=True)
            self.restart.start()
        return self.target.write(docs, vectors)


def test_node_killed_during_ingest_loses_nothing(three, minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manager, cluster = three
    settings = load_settings(opensearch_url=",".join(cluster.status().urls), opensearch_retry_budget_s=90)
    client = _client(cluster)
    batches = -(-len(CORPUS_IDS) // 50)
    outcomes = []
    for point, at in enumerate(random.Random(7).sample(range(1, batches + 1), 3)):
        index = f"killed-{point}"
        backend = OpenSearchBackend(settings)
        target = KillingTarget(backend.ingest_target(), manager, cluster, f"{cluster.name}-{1 + point % 3}", at)
        try:
            _ingest(settings, index, minilm, tmp_path, shards=3, replicas=1, target=target)
            outcomes.append("finished")
        except IngestError as exc:  # one clear error
            outcomes.append(f"stopped: {exc}")
        finally:
            backend.close()
        assert target.restart is not None, outcomes
        target.restart.join(timeout=200)
        if outcomes[-1] != "finished":  # the rerun resumes and finishes
            _ingest(settings, index, minilm, tmp_path, shards=3, replicas=1)
        ids = _ids(client, index)
        assert len(ids) == len(set(ids)) == len(CORPUS_IDS) and set(ids) == CORPUS_IDS, (point, at, outcomes)
    assert _wait_green(client) == "green"
    client.close()


def test_partial_shards_are_reported_not_hidden(three, minilm, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """No replicas: killing a node loses the shards on it. A 3-shard index then answers with a warning;
    a 1-shard index whose shard was on that node (the cluster is red) is an error in the CLI and a 503."""
    manager, cluster = three
    urls = cluster.status().urls
    settings = load_settings(opensearch_url=",".join(urls))
    _ingest(settings, "partial", minilm, tmp_path, shards=3, replicas=0)
    _ingest(settings, "red", minilm, tmp_path, shards=1, replicas=0)
    client = _client(cluster)
    placed = client.cat.shards(index="partial-*,red-*", format="json", h="index,node")  # the physical indices
    victim = next(row["node"] for row in placed if row["index"].startswith("red-"))
    assert any(row["index"].startswith("partial-") and row["node"] == victim for row in placed), placed
    survivor = next(u for u, n in zip(urls, cluster.node_names()) if n != victim)
    assert cluster.stop_node(victim, kill=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and client.cluster.health()["number_of_nodes"] != 2:
            time.sleep(0.5)
        assert client.cluster.health()["status"] == "red"
        capsys.readouterr()
        code = main(["search", "vitamin D", "--index", "partial", "--mode", "bm25", "--json",
                     "--opensearch-url", survivor])
        out = capsys.readouterr()
        assert code == OK
        warnings = json.loads(out.out)["warnings"]
        assert len(warnings) == 1 and "1 of 3 shards did not answer the BM25 query" in warnings[0]
        assert f"warning: {warnings[0]}" in out.err

        assert main(["search", "vitamin D", "--index", "red", "--mode", "bm25", "--opensearch-url", survivor]) == UNAVAILABLE
        assert "is the cluster red?" in _error(capsys)
        with TestClient(create_app(load_settings(opensearch_url=survivor), encoder=minilm)) as api:
            partial = api.post("/v1/search?index=partial", json={"query": "vitamin D", "mode": "hybrid"})
            assert partial.status_code == 200 and len(partial.json()["warnings"]) == 2  # BM25 and k-NN each
            red = api.post("/v1/search?index=red", json={"query": "vitamin D", "mode": "hybrid"})
            assert red.status_code == 503 and "is the cluster red?" in red.json()["detail"]
    finally:
        manager.start_node(cluster.name, victim, timeout_s=180)
    assert _wait_green(client) == "green"
    client.close()


def test_proxy_under_load_while_a_node_dies(three, minilm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """16 clients for 60 s; 10 s in, the elected cluster manager is SIGKILLed, and started again 30 s in."""
    manager, cluster = three
    urls = cluster.status().urls
    _ingest(load_settings(opensearch_url=",".join(urls)), "under-load", minilm, tmp_path, shards=3, replicas=1)
    client = _client(cluster)
    assert _wait_green(client) == "green"
    victim = client.cat.cluster_manager(format="json")[0]["node"]
    queries = list(load_queries(sample_dir()).values())
    restarted = threading.Event()

    def restart() -> None:
        manager.start_node(cluster.name, victim, timeout_s=180)
        restarted.set()

    with served_proxy(",".join(urls), "under-load", tmp_path / "serve.log") as proxy:
        outcomes = run_load(proxy, clients=16, seconds=60, queries=queries, max_requests=20_000,
                            events=[(10, lambda: cluster.stop_node(victim, kill=True)), (30, restart)])
        counts = statuses(outcomes)
        # No 500s or 502s, no dropped connections.
        assert set(counts) <= {200, 503}, (counts, sorted({o.detail for o in outcomes if o.status not in (200, 503)}))
        assert all(o.detail for o in outcomes if o.status == 503)  # every 503 says why
        assert counts.get(200, 0) >= 0.5 * len(outcomes), counts
        assert restarted.wait(timeout=200)
        assert _wait_green(client) == "green"
        client.close()
        # The proxy was never restarted: after the node is back, every request is answered.
        after = run_load(proxy, clients=4, seconds=5, queries=queries, max_requests=400)
        assert after and success_rate(after) == 1.0, statuses(after)
