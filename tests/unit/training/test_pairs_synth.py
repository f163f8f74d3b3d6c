"""Training data without judged queries: unsupervised pairs and BM25-filtered synthetic queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.retrieval.types import StoredDocument
from hybrid.training.examples import parse_example
from hybrid.training.mining import MiningConfig, bm25_lists
from hybrid.training.pairs import PairsReport, document_pairs, split_sentences
from hybrid.training.prompts import SENTENCE_INSTRUCTION, SYNTH_INSTRUCTION, TITLE_INSTRUCTION
from hybrid.training.synth import QueryGenerator, SynthConfig, SynthReport, clean_query, copied_run, synthesize
from tests.unit.encoders.tiny_models import save_tiny_llama_lm

ABSTRACT = ("Statins lower LDL cholesterol in most adults. In 4,444 patients simvastatin cut coronary deaths by 42%. "
            "Muscle pain was rare. (The trial ran for five years.)")


def test_split_sentences() -> None:
    assert split_sentences(ABSTRACT) == [
        "Statins lower LDL cholesterol in most adults.", "In 4,444 patients simvastatin cut coronary deaths by 42%.",
        "Muscle pain was rare.", "(The trial ran for five years.)",
    ]


def test_document_pairs_each_task_with_its_instruction() -> None:
    docs = [("d1", StoredDocument("Statin therapy and coronary mortality in adults", ABSTRACT, {})),
            ("d2", StoredDocument("", "Too short. Really.", {}))]
    report = PairsReport()
    pairs = list(document_pairs(docs, seed=3, report=report))
    assert [p["query_id"] for p in pairs][0] == "d1#title"
    title, sentence = (parse_example(p, "test") for p in pairs)
    assert title.instruction == TITLE_INSTRUCTION and title.positives[0].text == ABSTRACT  # abstract without title
    assert sentence.instruction == SENTENCE_INSTRUCTION
    assert sentence.query in split_sentences(ABSTRACT) and sentence.query not in sentence.positives[0].text
    assert sentence.positives[0].text.startswith("Statin therapy")  # the title stays with the rest
    assert report.title_pairs == 1 and report.sentence_pairs == 1 and sum(report.skipped.values()) == 2
    assert list(document_pairs(docs, seed=3)) == pairs  # reproducible


def test_documents_iterates_the_whole_embedded_index(backend) -> None:  # type: ignore[no-untyped-def]
    search, _, _ = backend
    ids = [doc_id for doc_id, _ in search.documents()]
    assert len(ids) == search.count() and ids == sorted(set(ids))


class EchoGenerator:
    """Stands in for the LM to test the filter: the passage's first words reversed, or words no passage has."""

    batch_size = 8

    def generate(self, passages: list[str]) -> list[str]:
        return [" ".join(reversed(p.split()[:10])) if i % 2 == 0 else "zebra quasar xylophone"
                for i, p in enumerate(passages)]


class CopyingGenerator:
    """Pastes the passage's opening instead of asking about it."""

    batch_size = 8

    def generate(self, passages: list[str]) -> list[str]:
        return [" ".join(p.split()[:12]) for p in passages]


def test_filter_keeps_only_queries_whose_passage_bm25_ranks_high(backend) -> None:  # type: ignore[no-untyped-def]
    search, _, _ = backend
    docs = list(search.documents())[:20]
    report = SynthReport()
    config = SynthConfig(keep_top=5, limit=20, mining=MiningConfig(depth=50, skip=2, negatives=3))
    examples = list(synthesize(search, iter(docs), EchoGenerator(), config, batch_size=8, report=report))  # type: ignore[arg-type]
    assert report.passages == 20 and report.kept == len(examples) >= 8
    assert report.kept + report.too_short + report.copied + report.not_in_top == 20
    runs = bm25_lists(search, [ex["query"] for ex in examples], 50)
    for ex, run in zip(examples, runs):
        parsed = parse_example(ex, "synth")
        doc_id = parsed.positives[0].id
        assert doc_id in [d for d, _ in run[:5]] and parsed.instruction == SYNTH_INSTRUCTION
        assert len(parsed.negatives) == 3 and doc_id not in {n.id for n in parsed.negatives}
        assert all(n["bm25_rank"] > 2 for n in ex["negatives"])


def test_copied_queries_are_dropped(backend) -> None:  # type: ignore[no-untyped-def]
    search, _, _ = backend
    docs = list(search.documents())[:8]
    report = SynthReport()
    assert list(synthesize(search, iter(docs), CopyingGenerator(), SynthConfig(limit=8), report=report)) == []  # type: ignore[arg-type]
    assert report.copied == 8
    kept = list(synthesize(search, iter(docs), CopyingGenerator(), SynthConfig(limit=8, max_copied_words=None)))  # type: ignore[arg-type]
    assert len(kept) >= 6  # without the guard BM25 happily ranks a pasted opening first


def test_copied_run() -> None:
    passage = "Statins lower LDL cholesterol in most adults over five years"
    assert copied_run("do statins lower LDL cholesterol in most adults over time", passage, 8)
    assert not copied_run("do statins lower LDL cholesterol in adults", passage, 8)


def test_tiny_generator_produces_well_formed_pairs(backend, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    search, _, _ = backend
    generator = QueryGenerator(str(save_tiny_llama_lm(tmp_path / "lm")), device="cpu", max_new_tokens=12)
    report = SynthReport()
    config = SynthConfig(keep_top=400, limit=12, mining=MiningConfig(depth=400, negatives=2))
    examples = list(synthesize(search, search.documents(), generator, config, report=report))
    assert report.passages == 12 and report.kept == len(examples) >= 1
    for ex in examples:
        parsed = parse_example(ex, "synth")
        assert len(parsed.query.split()) >= 3 and parsed.positives[0].id not in {n.id for n in parsed.negatives}


@pytest.mark.parametrize(("raw", "clean"), [
    ("Question: Do statins lower LDL?\nAnswer: yes", "Do statins lower LDL?"),
    ('\n  "What causes scurvy?"', "What causes scurvy?"),
    ("", ""),
    ('The question is: "Does NPY regulate food intake?"', "Does NPY regulate food intake?"),
])
def test_clean_query(raw: str, clean: str) -> None:
    assert clean_query(raw) == clean
