from __future__ import annotations

import pytest

from hybrid.recipes import BMRETRIEVER_INSTRUCTIONS, EncoderSpec, bmretriever_spec, passage_text, resolve_instruction

PUBLISHED = {  # BMRetriever's prompt.py, verbatim (DOMAIN.md §1)
    "nfcorpus": "Given a question, retrieve relevant documents that best answer the question",
    "scifact": "Given a scientific claim, retrieve documents that support or refute the claim",
    "scidocs": "Given a scientific paper title, retrieve paper abstracts that are cited by the given paper",
    "trec-covid": "Given a query on COVID-19, retrieve documents that answer the query",
    "msmarco": "Given a web search query, retrieve relevant passages that answer the query",
    "nq": "Given a question, retrieve Wikipedia passages that answer the question",
    "fever": "Given a claim, retrieve documents that support or refute the claim",
    "hotpotqa": "Given a multi-hop question, retrieve documents that can help answer the question",
    "quora": "Given a question, retrieve questions that are semantically equivalent to the given question",
}


def test_instruction_registry_is_verbatim() -> None:
    assert BMRETRIEVER_INSTRUCTIONS == PUBLISHED


def test_bmretriever_templates_exact() -> None:
    spec = bmretriever_spec("x")
    instruction = resolve_instruction("scifact")
    assert spec.format_query("Statins lower LDL.", instruction) == (
        "Given a scientific claim, retrieve documents that support or refute the claim\nQuery: Statins lower LDL."
    )
    assert spec.format_passage("Title body") == "Represent this passage\npassage: Title body"


def test_instruction_by_name_or_free_text() -> None:
    assert resolve_instruction("SciFact") == PUBLISHED["scifact"]
    assert resolve_instruction("Find trials of statins") == "Find trials of statins"
    assert resolve_instruction(None) is None
    with pytest.raises(ValueError, match="empty"):
        resolve_instruction("  ")


def test_default_instruction_and_templates_without_slot() -> None:
    spec = bmretriever_spec("x")
    assert spec.format_query("q").startswith(spec.default_instruction or "?")
    plain = EncoderSpec("m", "m", "sentence-transformers", "mean", True, "cosine")
    assert plain.format_query("q", "ignored by a template without {instruction}") == "q"


def test_beir_passage_is_title_space_text() -> None:
    assert passage_text("A title", "the text") == "A title the text"
    assert passage_text("", "the text") == "the text"


def test_bad_specs_refused() -> None:
    with pytest.raises(ValueError, match="query"):
        bmretriever_spec("x", query_template="no slot")
    with pytest.raises(ValueError, match="last_token"):
        EncoderSpec("m", "m", "decoder", "mean", False, "dot")
