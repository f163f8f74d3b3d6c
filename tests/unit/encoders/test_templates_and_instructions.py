"""Templates and instructions by what they do to the text a model embeds, and to the embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hybrid.encoders import load_encoder
from hybrid.recipes import BMRETRIEVER_INSTRUCTIONS, EncoderSpec, bmretriever_spec, passage_text, resolve_instruction
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

# The one instruction checked letter by letter: BMRetriever's SciFact instruction as published (its prompt.py).
SCIFACT = "Given a scientific claim, retrieve documents that support or refute the claim"


def test_bmretriever_templates_exact() -> None:
    spec = bmretriever_spec("x")
    assert spec.format_query("Statins lower LDL.", resolve_instruction("scifact")) == f"{SCIFACT}\nQuery: Statins lower LDL."
    assert spec.format_passage("Title body") == "Represent this passage\npassage: Title body"


def test_every_task_has_its_own_retrieval_instruction() -> None:
    assert {"nfcorpus", "scifact", "scidocs", "trec-covid", "msmarco", "nq", "fever", "hotpotqa", "quora"} == set(
        BMRETRIEVER_INSTRUCTIONS)
    texts = list(BMRETRIEVER_INSTRUCTIONS.values())
    assert len(set(texts)) == len(texts)  # no two tasks share an instruction
    assert all(t.startswith("Given ") and ", retrieve " in t and t == t.strip() for t in texts)


def test_instruction_by_name_or_free_text() -> None:
    assert resolve_instruction("SciFact") == resolve_instruction("scifact") == SCIFACT
    assert resolve_instruction("Find trials of statins") == "Find trials of statins"
    assert resolve_instruction(None) is None
    with pytest.raises(ValueError, match="empty"):
        resolve_instruction("  ")


def test_instructions_change_decoder_queries_only(tmp_path: Path) -> None:
    encoder = load_encoder(str(save_tiny_gpt_neox(tmp_path)), device="cpu", precision="fp32", max_length=64)
    scifact = encoder.encode_queries(["mice cancer trial"], instruction="scifact")
    nfcorpus = encoder.encode_queries(["mice cancer trial"], instruction="nfcorpus")
    assert not np.allclose(scifact, nfcorpus)
    written_out = encoder.embed_batch([f"{SCIFACT}\nQuery: mice cancer trial"])
    np.testing.assert_allclose(scifact, written_out, atol=1e-6)  # the instruction is only text in the template
    default = encoder.encode_queries(["mice cancer trial"])
    np.testing.assert_allclose(default, encoder.encode_queries(["mice cancer trial"],
                                                               instruction=encoder.spec.default_instruction), atol=1e-6)
    # Passages never carry an instruction.
    np.testing.assert_allclose(encoder.encode_passages(["mice"]), encoder.embed_batch(
        ["Represent this passage\npassage: mice"]), atol=1e-6)


def test_a_template_without_a_slot_ignores_instructions(minilm) -> None:  # type: ignore[no-untyped-def]
    plain = EncoderSpec("m", "m", "sentence-transformers", "mean", True, "cosine")
    assert plain.format_query("q", "ignored by a template without {instruction}") == "q"
    np.testing.assert_array_equal(minilm.encode_queries(["statins"], instruction="scifact"), minilm.encode_queries(["statins"]))


def test_beir_passage_is_title_space_text() -> None:
    assert passage_text("A title", "the text") == "A title the text"
    assert passage_text("", "the text") == "the text"


def test_bad_specs_refused() -> None:
    with pytest.raises(ValueError, match="query"):
        bmretriever_spec("x", query_template="no slot")
    with pytest.raises(ValueError, match="last_token"):
        EncoderSpec("m", "m", "decoder", "mean", False, "dot")
