"""Highlights by definition: a word is marked when its analysed form is one of the query's analysed terms;
a BM25 hit's snippet is the sentence with most distinct query terms, a dense-only hit's the sentence
whose embedding is closest to the query's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hybrid.analysis import analyze
from hybrid.retrieval import Searcher, SearchRequest
from hybrid.retrieval.highlight import (
    SNIPPET_CHARS,
    closest_sentences,
    highlight,
    query_terms,
    sentence_bounds,
    sentence_pieces,
    snippet_sentences,
    term_spans,
)

TEXT = ("Cholesterol was measured in 2,000 adults. Statins lowered LDL cholesterol by 30% (p=0.04) in the "
        "statin group. The trial's follow-up was 5 years.")


def _marked(text: str, spans) -> list[str]:  # type: ignore[no-untyped-def]
    return [text[s:e] for s, e in spans]


def test_words_whose_analysed_form_is_a_query_term_are_marked() -> None:
    terms = query_terms("the statin trials on cholesterol")
    assert terms == frozenset(analyze("statin trial cholesterol"))  # stop words are not terms
    assert _marked(TEXT, term_spans(TEXT, terms)) == ["Cholesterol", "Statins", "cholesterol", "statin", "trial's"]


def test_sentences_end_at_a_stop_and_space_only() -> None:
    assert [TEXT[a:b].strip() for a, b in sentence_bounds(TEXT)] == [
        "Cholesterol was measured in 2,000 adults.",
        "Statins lowered LDL cholesterol by 30% (p=0.04) in the statin group.",
        "The trial's follow-up was 5 years."]


def test_the_snippet_is_the_sentence_with_most_distinct_query_terms() -> None:
    h = highlight("Statin trial", TEXT, query_terms("statin LDL"))
    assert h.chosen_by == "bm25" and h.snippet.startswith("… Statins lowered LDL")
    assert _marked(h.snippet, h.snippet_spans) == ["Statins", "LDL", "statin"]
    assert _marked("Statin trial", h.title) == ["Statin"]
    none = highlight("", TEXT, query_terms("aspirin"))
    assert none.chosen_by == "start" and none.snippet.startswith("Cholesterol was measured") and not none.snippet_spans


def test_a_long_sentence_is_cut_around_its_marked_words() -> None:
    long = "Background " + "words " * 120 + "then statins appear here and " + "more " * 80 + "end."
    h = highlight("", long, query_terms("statins"))
    assert len(h.snippet) <= SNIPPET_CHARS + 4 and _marked(h.snippet, h.snippet_spans) == ["statins"]


def test_the_closest_sentence_by_cosine() -> None:
    pieces, owners = sentence_pieces([TEXT, "One. Two."])
    assert owners == [0, 0, 0, 1, 1] and pieces[3:] == ["One.", "Two."]
    vectors = np.array([[1.0, 0], [0.6, 0.8], [0, 1], [0, -1], [-1, 0]])
    assert closest_sentences(owners, vectors * 3, np.array([0.0, 2.0]), 2) == [2, 1]
    dense = highlight("", TEXT, query_terms("statin"), closest_sentence=2)
    assert dense.chosen_by == "dense" and dense.snippet == "… The trial's follow-up was 5 years."


def test_search_highlights_and_chooses_dense_snippets_by_embedding(tmp_path: Path) -> None:
    from hybrid.backends.embedded.search import EmbeddedSearch
    from hybrid.backends.embedded.target import EmbeddedTarget
    from hybrid.encoders import load_encoder
    from tests.integration.helpers import ingest_sample
    from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

    tiny = load_encoder(str(save_tiny_gpt_neox(tmp_path / "m")), device="cpu", precision="fp32", max_length=64)
    target = EmbeddedTarget(tmp_path / "idx")
    ingest_sample(target, "hl", tiny, tmp_path, limit=80)
    target.close()
    search = EmbeddedSearch(tmp_path / "idx", "hl")
    try:
        query = "cancer cells in mice"
        response = Searcher(search, tiny).search(SearchRequest(query, mode="dense", k=3, highlight=True))
    finally:
        search.close()
    terms = query_terms(query)
    vector = tiny.encode_queries([query])[0]
    for hit in response.hits:
        assert hit.highlight is not None and hit.highlight.chosen_by == "dense"
        assert all(analyze(w)[0] in terms for w in _marked(hit.title, hit.highlight.title))
        # Within the passage the dense side matched (the tiny encoder's window splits these abstracts).
        sentences = [hit.text[a:b].strip() for a, b in snippet_sentences(hit.text, hit.passage)][:40]
        cosines = [float(v @ vector / np.linalg.norm(v) / np.linalg.norm(vector)) for v in tiny.encode_passages(sentences)]
        best = sentences[int(np.argmax(cosines))]
        assert hit.highlight.snippet.strip("… ").startswith(best[:40]), (best, hit.highlight.snippet)

