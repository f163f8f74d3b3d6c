"""The embedded index's memory-mapped files: BM25 postings built in spilled runs score as BM25 is defined
(and as rank-bm25 does), compressed vectors stay close to float32, and the id column finds rows."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from hybrid.analysis import analyze
from hybrid.backends.embedded import postings as postings_module
from hybrid.backends.embedded import vectors as vectors_module
from hybrid.backends.embedded.ids import IdColumn, IdWriter
from hybrid.backends.embedded.postings import PostingsBM25, PostingsWriter
from hybrid.backends.embedded.vectors import VectorMatrix, VectorWriter
from hybrid.beir import iter_corpus, load_queries
from hybrid.data import sample_dir

TEXTS = [f"{d.title} {d.text}" for d in iter_corpus(sample_dir())]


def _postings(folder: Path, texts: list[str], **parameters: object) -> PostingsBM25:
    writer = PostingsWriter(folder, spill_postings=5_000, **parameters)  # type: ignore[arg-type]
    for text in texts:
        writer.add(text)
    writer.finish()
    assert not (folder / ".runs").exists()
    return PostingsBM25(folder)


def test_lucene_postings_score_bm25_by_its_definition_across_spilled_runs(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(postings_module, "MERGE_SLICE", 777)  # runs of 5,000 postings merged in slices
    tokens = [analyze(t) for t in TEXTS]
    k1, b = 0.9, 0.4
    bm25 = _postings(tmp_path / "p", TEXTS, k1=k1, b=b, scoring="lucene")
    assert len(list((tmp_path / "p").glob("*.npy"))) == 3 and bm25.docs == len(TEXTS)
    average = sum(map(len, tokens)) / len(tokens)
    for term in ("cholesterol", "cell", "risk", "the"):  # rare, common, middling, a stop word (no postings)
        df = sum(term in doc for doc in tokens)
        idf = math.log(1 + (len(tokens) - df + 0.5) / (df + 0.5))
        expected = [idf * (k1 + 1) * doc.count(term) / (doc.count(term) + k1 * (1 - b + b * len(doc) / average))
                    for doc in tokens]
        np.testing.assert_allclose(bm25.scores_for_tokens([term]), expected, rtol=1e-5, atol=1e-6)
    one = bm25.scores_for_tokens(["cell"])
    np.testing.assert_allclose(bm25.scores_for_tokens(["cell", "risk", "cell"]),
                               2 * one + bm25.scores_for_tokens(["risk"]), rtol=1e-6)
    assert not bm25.scores_for_tokens(["zzzunknown"]).any()


def test_okapi_postings_agree_with_rank_bm25(tmp_path: Path) -> None:
    texts = [d.text for d in iter_corpus(sample_dir())]
    tokens = [analyze(t) for t in texts]
    reference = BM25Okapi(tokens, k1=1.5, b=0.75)
    ours = _postings(tmp_path / "p", texts, k1=1.5, b=0.75, scoring="okapi")
    compared = 0
    for query in load_queries(sample_dir()).values():
        # Terms in more than half the documents have a negative Robertson idf, floored differently.
        terms = [t for t in analyze(query) if 0 < sum(t in doc for doc in reference.doc_freqs) < len(texts) / 2]
        if terms:
            np.testing.assert_allclose(ours.scores_for_tokens(terms), reference.get_scores(terms), rtol=1e-4, atol=1e-5)
            compared += 1
    assert compared >= 50


def test_an_empty_postings_index_scores_nothing(tmp_path: Path) -> None:
    bm25 = _postings(tmp_path / "p", [], k1=1.2, b=0.75, scoring="lucene")
    assert bm25.scores("cell").shape == (0,)


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
def test_vector_storage_scores_in_blocks_and_compression_stays_close(tmp_path: Path, monkeypatch, similarity: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(vectors_module, "BLOCK_ROWS", 7)  # many blocks and a ragged last one
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(101, 24)).astype(np.float32) * rng.uniform(0.5, 2, size=(101, 1)).astype(np.float32)
    query = rng.normal(size=24).astype(np.float32)
    cosine = similarity == "cosine"
    exact = matrix @ query
    if cosine:
        exact = exact / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    tolerance = {"none": 1e-5, "fp16": 2e-3, "int8": 3e-2}
    for compression, atol in tolerance.items():
        folder = tmp_path / compression
        folder.mkdir()
        writer = VectorWriter(folder, len(matrix), 24, compression, cosine=cosine)
        for vector in matrix:
            writer.add(vector)
        writer.finish()
        stored = VectorMatrix(folder, cosine=cosine)
        assert stored.storage == compression and len(stored) == 101
        scale = np.abs(exact).max()
        np.testing.assert_allclose(stored.similarity(query) / scale, exact / scale, atol=atol)
        top = set(np.argsort(-stored.similarity(query))[:10])
        assert len(top & set(np.argsort(-exact)[:10])) >= 8
    sizes = {c: (tmp_path / c / "vectors.npy").stat().st_size - 128 for c in tolerance}
    assert sizes["none"] == 2 * sizes["fp16"] == 4 * sizes["int8"] == 101 * 24 * 4


def test_id_column_finds_rows_and_samples_like_a_list(tmp_path: Path) -> None:
    ids = sorted(["PMC-1", "doc é 2", "a", "b\nc", "z" * 40, "10", "9"], key=lambda i: i.encode())
    writer = IdWriter(tmp_path)
    for doc_id in ids:
        writer.add(doc_id)
    writer.finish()
    column = IdColumn(tmp_path)
    assert list(column) == ids and len(column) == len(ids) and column[1:3] == ids[1:3]
    assert [column.row_of(i) for i in ids] == list(range(len(ids)))
    assert column.row_of("missing") is None and column.row_of("zz") is None and column.row_of("") is None
    assert random.Random(3).sample(column, 4) == random.Random(3).sample(ids, 4)
