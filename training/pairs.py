"""Unsupervised pairs for BMRetriever's first training stage (`hybrid pairs`), from an ingested corpus.

Two tasks, each with its own instruction (training/prompts.py):
- title → abstract: the title is the query, the abstract (without its title) the positive;
- sentence → rest: one sentence of the abstract (chosen reproducibly from the seed and document id)
  is the query, the title and the remaining sentences the positive.
No mined negatives: in-batch negatives only. Output is the training JSONL (training/examples.py).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from hybrid.retrieval.types import StoredDocument
from hybrid.training.examples import example_record
from hybrid.training.prompts import SENTENCE_INSTRUCTION, TITLE_INSTRUCTION

# A sentence ends at . ! or ? followed by whitespace and an upper-case letter, digit or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
MIN_QUERY_WORDS = 5
MIN_SENTENCES = 3


@dataclass
class PairsReport:
    documents: int = 0
    title_pairs: int = 0
    sentence_pairs: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> documents

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def document_pairs(docs: Iterable[tuple[str, StoredDocument]], *, titles: bool = True, sentences: bool = True,
                   seed: int = 13, report: PairsReport | None = None) -> Iterator[dict[str, object]]:
    report = report if report is not None else PairsReport()
    for doc_id, doc in docs:
        report.documents += 1
        title, text = doc.title.strip(), doc.text.strip()
        if titles:
            if len(title.split()) >= MIN_QUERY_WORDS and text:
                report.title_pairs += 1
                yield example_record(f"{doc_id}#title", title, TITLE_INSTRUCTION,
                                     [{"id": doc_id, "title": "", "text": text}])
            else:
                report.skip("title missing or shorter than 5 words")
        if sentences:
            parts = split_sentences(text)
            usable = [i for i, s in enumerate(parts) if len(s.split()) >= MIN_QUERY_WORDS]
            if len(parts) < MIN_SENTENCES or not usable:
                report.skip("abstract shorter than 3 sentences")
                continue
            pick = random.Random(f"{seed}:{doc_id}").choice(usable)
            rest = " ".join(parts[:pick] + parts[pick + 1 :])
            report.sentence_pairs += 1
            yield example_record(f"{doc_id}#sentence{pick}", parts[pick], SENTENCE_INSTRUCTION,
                                 [{"id": doc_id, "title": title, "text": rest}])
