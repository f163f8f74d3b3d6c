"""bm25s (serving the embedded index) scores as Lucene does (the current layout) or agrees with rank-bm25's
BM25Okapi (indices built with the older layout) on the same tokens."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from hybrid.analysis import analyze
from hybrid.backends.embedded.lexical import FieldBM25
from hybrid.beir import iter_corpus, load_queries
from hybrid.data import sample_dir


def test_bm25s_matches_bm25okapi_on_sample() -> None:
    texts = [d.text for d in iter_corpus(sample_dir())]
    tokens = [analyze(t) for t in texts]
    reference = BM25Okapi(tokens, k1=1.5, b=0.75)
    ours = FieldBM25.build(texts, k1=1.5, b=0.75, scoring="okapi")
    half = len(texts) / 2
    compared = 0
    for query in load_queries(sample_dir()).values():
        # Terms in more than half the documents have negative Robertson idf, which the two libraries
        # floor differently (BM25Okapi: epsilon * mean idf; bm25s: 0); elsewhere the formulas agree.
        terms = [t for t in analyze(query) if 0 < sum(t in doc for doc in reference.doc_freqs) < half]
        if not terms:
            continue
        expected = reference.get_scores(terms)
        got = ours.scores_for_tokens(terms)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
        compared += 1
    assert compared >= 50


def test_analyzer_mirrors_english() -> None:
    assert analyze("The patients' treadmills were running") == ["patient", "treadmil", "were", "run"]
    assert analyze("BRCA1 and IL-6") == ["brca1", "il", "6"]


def test_lucene_scoring_is_opensearchs_bm25_and_survives_a_save(tmp_path: Path) -> None:
    texts = [d.text for d in iter_corpus(sample_dir())]
    tokens = [analyze(t) for t in texts]
    k1, b = 0.9, 0.4
    bm25 = FieldBM25.build(texts, k1=k1, b=b, scoring="lucene")
    bm25.save(tmp_path / "f")
    loaded = FieldBM25.load(tmp_path / "f")
    average = sum(map(len, tokens)) / len(tokens)
    for term in ("cholesterol", "cell", "risk"):  # a rare, a common and a middling term
        df = sum(term in doc for doc in tokens)
        idf = math.log(1 + (len(tokens) - df + 0.5) / (df + 0.5))
        expected = [idf * (k1 + 1) * doc.count(term) / (doc.count(term) + k1 * (1 - b + b * len(doc) / average))
                    for doc in tokens]
        np.testing.assert_allclose(bm25.scores_for_tokens([term]), expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(loaded.scores_for_tokens([term]), expected, rtol=1e-4, atol=1e-6)
