"""Mining against the real node: one batched _msearch per chunk of queries, positives excluded, window kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.backends.base import IndexOptions
from hybrid.backends.opensearch.search import OpenSearchSearch
from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.data import sample_dir
from hybrid.encoders import load_encoder
from hybrid.evaluation import load_split
from ingest.pipeline import IngestOptions, run_ingest
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox
from tests.unit.training.mining_checks import check_examples, sample_missing_some_positives
from training.mining import MiningConfig, MiningReport, mine

pytestmark = pytest.mark.opensearch


def test_mining_on_opensearch(opensearch_client, index_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    encoder = load_encoder(str(save_tiny_gpt_neox(tmp_path / "m")), device="cpu", precision="fp32", max_length=32)
    source, dropped = sample_missing_some_positives()
    run_ingest(source, index=index_name, encoder=encoder, target=OpenSearchTarget(opensearch_client),
               rejects_path=tmp_path / "r.jsonl", metadata_fields={}, index_options=IndexOptions(replicas=0),
               options=IngestOptions())
    backend = OpenSearchSearch(opensearch_client, index_name)
    queries, qrels = load_split(sample_dir(), "dev")
    calls: list[str] = []
    original = opensearch_client.transport.perform_request

    def counting(method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(url)
        return original(method, url, *args, **kwargs)

    monkeypatch.setattr(opensearch_client.transport, "perform_request", counting)
    report = MiningReport()
    examples = list(mine(backend, queries, qrels, MiningConfig(depth=40, skip=2, negatives=5), batch_size=32,
                         report=report))
    assert calls.count("/_msearch") == 2  # 60 queries in batches of 32: two round trips for BM25
    monkeypatch.undo()
    runs = dict(zip(sorted(qrels), backend.lexical_many([queries[q] for q in sorted(qrels)], 40)))
    check_examples(examples, qrels, runs, skip=2, depth=40, negatives=5)
    assert {d for m in report.missing_documents.values() for d in m} == dropped  # reported, not silently dropped
