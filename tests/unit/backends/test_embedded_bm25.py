"""bm25s (serving the embedded index) agrees with rank-bm25's BM25Okapi on the same tokens."""

from __future__ import annotations

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
    ours = FieldBM25.build(texts, k1=1.5, b=0.75)
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
