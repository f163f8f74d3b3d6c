"""Worker I of N: shares are disjoint and cover the input (documents by id, rejects by position), so N
dry runs together see exactly what one run sees; the embedded store, written by one process, refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybrid.cli import main
from hybrid.cli.errors import USAGE
from hybrid.ingest.pipeline import IngestOptions, run_ingest
from hybrid.ingest.shares import WorkerShare
from hybrid.ingest.sources import open_source
from tests.unit.ingest.bad_records import EXPECTED_REJECTS, GOOD_IDS, write_bad_source


def test_parse_and_range() -> None:
    assert WorkerShare.parse("2/4") == WorkerShare(2, 4) and str(WorkerShare(2, 4)) == "2/4"
    for bad in ("0/2", "3/2", "2", "a/b", "1/0", "-1/2"):
        with pytest.raises(ValueError):
            WorkerShare.parse(bad)


def test_every_key_has_exactly_one_worker_and_shares_are_balanced() -> None:
    keys = [f"PMID{n}" for n in range(3000)]
    shares = [WorkerShare(i, 3) for i in (1, 2, 3)]
    owners = [[s.worker for s in shares if s.owns(k)] for k in keys]
    assert all(len(o) == 1 for o in owners)
    sizes = [sum(o == [i] for o in owners) for i in (1, 2, 3)]
    assert all(850 < size < 1150 for size in sizes), sizes
    assert [WorkerShare(2, 3).owns(k) for k in keys[:50]] == [WorkerShare(2, 3).owns(k) for k in keys[:50]]


def test_n_dry_runs_see_what_one_run_sees(tmp_path: Path) -> None:
    source_path = write_bad_source(tmp_path)
    would_index = 0
    rejected_lines: list[int] = []
    totals = {"read": 0, "others": 0}
    for worker in (1, 2, 3):
        rejects = tmp_path / f"rejects-{worker}.jsonl"
        summary = run_ingest(open_source(source_path), index="x", encoder=None, target=None, rejects_path=rejects,
                             metadata_fields={}, options=IngestOptions(dry_run=True, worker=WorkerShare(worker, 3)))
        totals["read"] += summary.read
        totals["others"] += summary.others
        lines = [json.loads(line) for line in rejects.read_text().splitlines()] if rejects.exists() else []
        rejected_lines += [int(str(r["position"]).rsplit(":", 1)[1]) for r in lines]
        assert summary.rejected == len(lines)
        would_index += summary.read - summary.rejected
    records = len(source_path.read_bytes().splitlines())
    assert totals["read"] == records and totals["others"] == 2 * records
    assert sorted(rejected_lines) == [line for line, _, _ in EXPECTED_REJECTS]
    assert would_index == len(GOOD_IDS)


def test_the_embedded_store_refuses_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["ingest", "sample", "--index", "w", "--embedded-dir", str(tmp_path / "idx"), "--worker", "1/2",
            "--limit", "3", "--quiet", "--rejects", str(tmp_path / "r.jsonl")]
    assert main(argv) == USAGE
    assert "one process writes an embedded index" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ingest", "sample", "--worker", "3/2"])
    assert "argument --worker: worker 3/2: expected I/N with 1 <= I <= N" in capsys.readouterr().err
