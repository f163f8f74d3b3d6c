"""Fixtures of the training tests: the bundled sample in an embedded index (tiny encoder, fast)."""

from __future__ import annotations

import pytest

from hybrid.backends.embedded.search import EmbeddedSearch
from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.encoders import load_encoder
from hybrid.ingest.pipeline import IngestOptions, run_ingest
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox
from tests.unit.training.mining_checks import sample_missing_some_positives


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("mine")
    encoder = load_encoder(str(save_tiny_gpt_neox(root / "m")), device="cpu", precision="fp32", max_length=32)
    target = EmbeddedTarget(root / "idx")
    source, dropped = sample_missing_some_positives()
    run_ingest(source, index="s", encoder=encoder, target=target, rejects_path=root / "r.jsonl",
               metadata_fields={}, options=IngestOptions())
    target.close()
    search = EmbeddedSearch(root / "idx", "s")
    yield search, encoder, dropped
    search.close()
