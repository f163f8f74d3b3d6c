"""The pipeline against the embedded backend: round trip, rejects, resume, reindex, fingerprint guard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hybrid.backends.base import IndexOptions
from hybrid.backends.embedded.ids import IdColumn
from hybrid.backends.embedded.store import EmbeddedRoot, Generation
from hybrid.backends.embedded.target import EmbeddedTarget
from hybrid.beir import iter_corpus
from hybrid.data import sample_dir
from hybrid.documents import RawRecord
from hybrid.encoders import load_encoder
from hybrid.ingest.pipeline import IngestError, IngestOptions, run_ingest
from hybrid.ingest.sources import FieldOverrides, Source, open_source
from hybrid.recipes import FingerprintMismatchError, passage_text
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox
from tests.unit.ingest.bad_records import EXPECTED_REJECTS, GOOD_IDS, write_bad_source


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_encoder(str(save_tiny_gpt_neox(tmp_path_factory.mktemp("m"))), device="cpu", precision="fp32", max_length=32)


def _ingest(root: Path, source: Source, encoder, passages: bool = True, **options):  # type: ignore[no-untyped-def]
    target = EmbeddedTarget(root)
    try:
        return run_ingest(source, index="docs", encoder=encoder, target=target, rejects_path=root / "rejects.jsonl",
                          metadata_fields=dict(source.fields.metadata), index_options=IndexOptions(passages=passages),
                          options=IngestOptions(batch_size=16, **options))
    finally:
        target.close()


def _stored_ids(root: Path) -> list[str]:
    gen = Generation(EmbeddedRoot(root).require("docs"))
    try:
        return [row[0] for row in gen.iter_rows()]
    finally:
        gen.close()


def test_round_trip_with_vectors(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    """Without passages: one vector per document, the whole document's embedding."""
    summary = _ingest(tmp_path, open_source(sample_dir()), tiny, passages=False, limit=50)
    docs = list(iter_corpus(sample_dir()))[:50]
    assert summary.indexed == 50 and summary.index_count == 50 and summary.rejected == 0
    folder = EmbeddedRoot(tmp_path).require("docs")
    ids = list(IdColumn(folder))
    assert sorted(ids) == sorted(d.id for d in docs)
    vectors = np.load(folder / "vectors.npy")
    expected = tiny.encode_passages([passage_text(d.title, d.text) for d in docs])
    order = [ids.index(d.id) for d in docs]
    np.testing.assert_allclose(vectors[order], expected, rtol=1e-4, atol=1e-5)
    assert not (folder / "passage-bounds.npy").exists()
    gen = Generation(folder)
    meta = gen.index_meta("docs")
    assert meta.fingerprint == tiny.fingerprint and meta.state == "ready" and meta.passages is None
    gen.close()


def test_round_trip_with_passages(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    """With passages (the default): each document's rows are its passages' embeddings (title + span of the
    text), the spans cover the text in order, and none exceeds the encoder's 32-token window."""
    _ingest(tmp_path, open_source(sample_dir()), tiny, limit=20)
    docs = {d.id: d for d in list(iter_corpus(sample_dir()))[:20]}
    folder = EmbeddedRoot(tmp_path).require("docs")
    ids = list(IdColumn(folder))
    vectors, bounds, spans = (np.load(folder / f) for f in ("vectors.npy", "passage-bounds.npy", "passage-spans.npy"))
    assert len(bounds) == len(ids) + 1 and bounds[-1] == len(vectors) == len(spans) > len(ids)
    tokenizer, checked = tiny.text_tokenizer, 0
    for row, doc_id in enumerate(ids):
        doc, mine = docs[doc_id], [tuple(s) for s in spans[bounds[row] : bounds[row + 1]]]
        assert mine[0][0] == 0 and mine[-1][1] == len(doc.text)
        assert all(a < b and a2 <= b for (a, b), (a2, _) in zip(mine, mine[1:]))  # in order, overlapping or touching
        texts = [tiny.spec.format_passage(passage_text(doc.title, doc.text[a:b])) for a, b in mine]
        fixed = len(tokenizer(tiny.spec.format_passage(passage_text(doc.title, "")))["input_ids"])
        if fixed <= tiny.window_tokens // 2:  # a longer title leaves the passage half the window and is cut
            assert all(len(tokenizer(t)["input_ids"]) <= tiny.window_tokens for t in texts)
            checked += len(mine) > 1
        np.testing.assert_allclose(vectors[bounds[row] : bounds[row + 1]],
                                   tiny.encode_passages([passage_text(doc.title, doc.text[a:b]) for a, b in mine]),
                                   rtol=1e-4, atol=1e-5)
    assert checked >= 3
    meta = Generation(folder).index_meta("docs")
    assert meta.passages is not None and meta.passages.window == tiny.window_tokens == 31


def test_rejects_file_and_the_rest_ingested(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    source = open_source(write_bad_source(tmp_path), "jsonl", FieldOverrides(metadata=(("year", "integer"),)))
    summary = _ingest(tmp_path, source, tiny)
    assert summary.indexed == len(GOOD_IDS) and summary.rejected == len(EXPECTED_REJECTS)
    assert sorted(_stored_ids(tmp_path)) == sorted(GOOD_IDS)
    lines = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [(r["position"], r["id"]) for r in lines] == [(f"mixed.jsonl:{n}", i) for n, _, i in EXPECTED_REJECTS]
    assert all(r["reason"].startswith(reason) for r, (_, reason, _) in zip(lines, EXPECTED_REJECTS))


class _Interrupt(Exception):
    pass


def _interrupted(source: Source, after: int) -> Source:
    def records() -> Iterator[RawRecord]:
        for n, record in enumerate(source.records):
            if n == after:
                raise _Interrupt
            yield record

    return Source(records(), source.fields, source.format)


def test_interrupted_ingest_resumes_to_exact_set(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IngestError, match="stopped by _Interrupt"):
        _ingest(tmp_path, _interrupted(open_source(sample_dir()), after=70), tiny, limit=120)
    partial = _stored_ids(tmp_path)
    assert 0 < len(partial) <= 70
    summary = _ingest(tmp_path, open_source(sample_dir()), tiny, limit=120)
    assert summary.skipped == len(partial) and summary.indexed == 120 - len(partial)
    assert sorted(_stored_ids(tmp_path)) == sorted(d.id for d in list(iter_corpus(sample_dir()))[:120])


def test_other_encoder_refused_then_reindex_swaps(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    _ingest(tmp_path, open_source(sample_dir()), tiny, limit=20)
    old = EmbeddedRoot(tmp_path).require("docs")
    other = load_encoder(str(save_tiny_gpt_neox(tmp_path / "other", seed=1)), device="cpu", precision="fp32",
                         max_length=32)
    with pytest.raises(FingerprintMismatchError, match="weights"):
        _ingest(tmp_path, open_source(sample_dir()), other, limit=20)
    summary = _ingest(tmp_path, open_source(sample_dir()), other, limit=30, reindex=True)
    new = EmbeddedRoot(tmp_path).require("docs")
    assert new != old and not old.exists() and summary.index_count == 30
    gen = Generation(new)
    assert gen.index_meta("docs").fingerprint == other.fingerprint
    gen.close()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    summary = _ingest(tmp_path, open_source(sample_dir()), None, dry_run=True)
    assert summary.read == 400 and summary.indexed == 0
    assert EmbeddedRoot(tmp_path).current("docs") is None


def test_an_index_finished_before_postings_and_mapped_ids_searches_as_before(tmp_path: Path, tiny) -> None:  # type: ignore[no-untyped-def]
    """Indices on users' disks hold bm25s folders, ids.json and float32 vectors without stored norms."""
    from hybrid.backends.embedded.lexical import FieldBM25, field_values, layout_fields, layout_scoring
    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.retrieval import Searcher, SearchRequest

    _ingest(tmp_path, open_source(sample_dir()), tiny, limit=120)
    folder = EmbeddedRoot(tmp_path).require("docs")

    def pages() -> list[list[tuple[str, float]]]:
        search = EmbeddedSearch(tmp_path, "docs")
        try:
            searcher = Searcher(search, tiny)
            return [[(h.doc_id, round(h.score, 4)) for h in searcher.search(SearchRequest(q, mode=mode, k=20)).hits]
                    for q in ("cancer risk", "stem cells in mice") for mode in ("bm25", "dense", "hybrid")]
        finally:
            search.close()

    now = pages()
    generation = Generation(folder)
    meta, rows = generation.index_meta("docs"), list(generation.iter_rows())
    generation.close()
    for name in ("ids.npy", "vector-norms.npy"):
        (folder / name).unlink(missing_ok=True)
    for postings in folder.glob("postings-*"):
        for file in postings.iterdir():
            file.unlink()
        postings.rmdir()
    (folder / "ids.json").write_text(json.dumps([r[0] for r in rows]))
    for field in layout_fields(meta.lexical):
        texts = [field_values(meta.lexical, r[1], r[2])[field] for r in rows]
        FieldBM25.build(texts, k1=meta.lexical.k1, b=meta.lexical.b,
                        scoring=layout_scoring(meta.lexical)).save(folder / f"bm25-{field}")
    assert pages() == now and any(now)
