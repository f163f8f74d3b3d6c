"""`hybrid quickstart`: the main job in one command — the bundled sample indexed once, then searched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hybrid.backends.embedded.backend import EmbeddedBackend
from hybrid.cli import main
from hybrid.cli.quickstart_cmd import DEFAULT_QUERY
from hybrid.encoders import encoder_for_index
from hybrid.retrieval import Searcher, SearchRequest


def test_quickstart_indexes_the_sample_once_and_answers_with_the_explain_view(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HYBRID_OPENSEARCH_URL", raising=False)
    monkeypatch.setenv("HYBRID_EMBEDDED_DIR", str(tmp_path / "indices"))
    monkeypatch.chdir(tmp_path)
    assert main(["quickstart"]) == 0
    first = capsys.readouterr()
    assert "indexed 400, skipped 0" in first.out + first.err
    shown = re.findall(r"^\s+\d+\s+(\S+)\s", first.out, flags=re.M)

    backend = EmbeddedBackend(tmp_path / "indices")
    try:
        search = backend.search("demo")
        expected = Searcher(search, encoder_for_index(search.index_meta())).search(SearchRequest(DEFAULT_QUERY))
    finally:
        backend.close()
    assert shown == [hit.doc_id for hit in expected.hits] and len(shown) == 10
    assert "fusion: adaptive" in first.out

    assert main(["quickstart", "vitamin D"]) == 0  # the second run finds the sample indexed
    second = capsys.readouterr()
    assert "indexed 0, skipped 400" in second.out + second.err and "hybrid search on 'demo'" in second.out + second.err
