"""The on-disk id set behind duplicate detection: exact at any count, and gone after the run."""

from __future__ import annotations

import random
from pathlib import Path

from hybrid.ingest.seen import SeenIds


def test_duplicates_found_exactly_and_scratch_removed(tmp_path: Path) -> None:
    rng = random.Random(5)
    ids = [f"PMID{rng.randrange(10**9)}" for _ in range(50_000)] + ["", "ünïcode id", "a'b\"c", " spaced "]
    expected_new = {doc_id: True for doc_id in ids}
    seen = SeenIds(tmp_path)
    first_time = set()
    for doc_id in ids + ids[:1000]:
        added = seen.add(doc_id)
        assert added == (doc_id not in first_time), doc_id
        first_time.add(doc_id)
    assert seen.count == len(expected_new)
    assert any(tmp_path.iterdir())  # the table is on disk, under the given folder
    seen.close()
    assert not any(tmp_path.iterdir())
