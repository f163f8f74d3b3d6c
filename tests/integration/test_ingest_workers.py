"""Two workers split one ingest into one index on the real node, running at the same time: the index is
created once, holds exactly the input's ids, goes live (settings restored, state ready, calibrated) when
the second finishes, and a rerun of one worker resumes; with --reindex the alias moves once, at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid.backends.opensearch.mapping import meta_block
from hybrid.backends.opensearch.workers import COORDINATION_INDEX
from hybrid.beir import iter_corpus
from hybrid.data import sample_dir
from hybrid.index_meta import IndexMeta
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

pytestmark = pytest.mark.opensearch

SAMPLE_IDS = {doc.id for doc in iter_corpus(sample_dir())}


def _workers(url: str, index: str, model: Path, tmp: Path, *extra: str) -> list[dict[str, object]]:
    """Worker 1/2 and 2/2 started together; their JSON summaries."""
    env = {**os.environ, "HYBRID_OPENSEARCH_URL": url}
    runs = [subprocess.Popen([sys.executable, "-m", "hybrid", "ingest", "sample", "--index", index, "--model", str(model),
                              "--worker", f"{i}/2", "--replicas", "0", "--batch-size", "16", "--json", "--quiet",
                              "--rejects", str(tmp / f"rejects-{i}.jsonl"), *extra],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    summaries = []
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-2000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    return summaries


def _ids(client, index: str) -> list[str]:  # type: ignore[no-untyped-def]
    from opensearchpy.helpers import scan

    return [hit["_id"] for hit in scan(client, index=index, query={"query": {"match_all": {}}}, _source=False)]


def _physical(client, alias: str) -> str:  # type: ignore[no-untyped-def]
    indices = list(client.indices.get_alias(name=alias))
    assert len(indices) == 1
    return indices[0]


def test_two_workers_one_index(opensearch_url: str, opensearch_client, index_name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = save_tiny_gpt_neox(tmp_path / "tiny")
    first = _workers(opensearch_url, index_name, model, tmp_path)
    assert [s["worker"] for s in first] == ["1/2", "2/2"]
    assert sum(s["indexed"] for s in first) == len(SAMPLE_IDS)  # type: ignore[misc]
    assert all(s["read"] + s["other_workers_records"] == len(SAMPLE_IDS) for s in first)
    assert sorted(s["made_live"] for s in first) == [False, True]  # the last to finish published it
    waiting = next(s for s in first if not s["made_live"])
    assert waiting["waiting_for_workers"] in ([1], [2], [])

    physical = _physical(opensearch_client, index_name)
    ids = _ids(opensearch_client, physical)
    assert len(ids) == len(set(ids)) == len(SAMPLE_IDS) and set(ids) == SAMPLE_IDS
    assert len(list(opensearch_client.indices.get(index=f"{index_name}-*"))) == 1  # created once
    settings = opensearch_client.indices.get_settings(index=physical)[physical]["settings"]["index"]
    assert settings["refresh_interval"] == "1s" and settings["number_of_replicas"] == "0"
    meta = IndexMeta.from_block(meta_block(opensearch_client.indices.get_mapping(index=physical)[physical]["mappings"]), physical)
    assert meta.state == "ready" and meta.calibration is not None
    left = opensearch_client.search(index=COORDINATION_INDEX, body={"query": {"ids": {"values": [
        index_name, f"{index_name}/finish", f"{index_name}/done/1", f"{index_name}/done/2"]}}})
    assert left["hits"]["total"]["value"] == 0

    # A worker rerun after the load went live resumes: its whole share is already there.
    again = _workers(opensearch_url, index_name, model, tmp_path)
    assert all(s["indexed"] == 0 for s in again) and sum(s["skipped"] for s in again) == len(SAMPLE_IDS)  # type: ignore[misc]

    # --reindex: a new physical index, built by both, swapped in once; the old one goes.
    rebuilt = _workers(opensearch_url, index_name, model, tmp_path, "--reindex")
    assert sum(s["indexed"] for s in rebuilt) == len(SAMPLE_IDS)  # type: ignore[misc]
    new_physical = _physical(opensearch_client, index_name)
    assert new_physical != physical and not opensearch_client.indices.exists(index=physical)
    assert sorted(_ids(opensearch_client, new_physical)) == sorted(SAMPLE_IDS)
