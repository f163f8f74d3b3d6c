"""Mining against the real node: one batched _msearch per chunk of queries, positives excluded, window kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.backends.base import IndexOptions
from hybrid.backends.opensearch.search import OpenSearchSearch
from hybrid.backends.opensearch.target import OpenSearchTarget
from hybrid.data import sample_dir
from hybrid.encoders import load_encoder
from hybrid.evaluation import load_split
from hybrid.ingest.pipeline import IngestOptions, run_ingest
from hybrid.training.mining import MiningConfig, MiningReport, bm25_lists, mine
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox
from tests.unit.training.mining_checks import check_examples, sample_missing_some_positives

pytestmark = pytest.mark.opensearch


def _ingest_sample(client, index: str, tmp_path: Path) -> set[str]:  # type: ignore[no-untyped-def]
    """The sample minus a few judged documents, with tiny-model vectors (mining reads BM25 only)."""
    encoder = load_encoder(str(save_tiny_gpt_neox(tmp_path / "m")), device="cpu", precision="fp32", max_length=32)
    source, dropped = sample_missing_some_positives()
    run_ingest(source, index=index, encoder=encoder, target=OpenSearchTarget(client), rejects_path=tmp_path / "r.jsonl",
               metadata_fields={}, index_options=IndexOptions(replicas=0, passages=False), options=IngestOptions())
    return dropped  # type: ignore[no-any-return]


def test_mining_on_opensearch(opensearch_client, index_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    dropped = _ingest_sample(opensearch_client, index_name, tmp_path)
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
    runs = dict(zip(sorted(qrels), bm25_lists(backend, [queries[q] for q in sorted(qrels)], 40)))
    check_examples(examples, qrels, runs, skip=2, depth=40, negatives=5)
    assert {d for m in report.missing_documents.values() for d in m} == dropped  # reported, not silently dropped


def test_pairs_and_synth_read_the_opensearch_index(opensearch_client, index_name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hybrid.training.examples import parse_example
    from hybrid.training.pairs import document_pairs
    from hybrid.training.synth import SynthConfig, SynthReport, synthesize
    from tests.unit.training.test_pairs_synth import EchoGenerator

    dropped = _ingest_sample(opensearch_client, index_name, tmp_path)
    backend = OpenSearchSearch(opensearch_client, index_name)
    docs = dict(backend.documents())  # scrolls past the 10,000-hit window too: 500 per page here
    corpus = {json.loads(line)["_id"] for line in (sample_dir() / "corpus.jsonl").open() if line.strip()}
    assert set(docs) == corpus - dropped and len(docs) == backend.count()
    pairs = [parse_example(p, "pairs") for p in document_pairs(docs.items())]
    assert {p.positives[0].id for p in pairs} <= set(docs) and len(pairs) > len(docs)  # title + sentence pairs
    report = SynthReport()
    config = SynthConfig(keep_top=5, limit=16, mining=MiningConfig(depth=50, negatives=3))
    examples = list(synthesize(backend, iter(docs.items()), EchoGenerator(), config, report=report))  # type: ignore[arg-type]
    runs = bm25_lists(backend, [ex["query"] for ex in examples], 5)
    assert report.kept == len(examples) >= 6
    assert all(ex["positives"][0]["id"] in [d for d, _ in run] for ex, run in zip(examples, runs))
