"""How much each side of an index can be trusted, measured without labels, for adaptive fusion.

A sample of the index's own documents becomes pseudo-queries (the title, or the text's first sentence
when the title is too short); a side that finds a pseudo-query's source document in its top 10 is
doing its job. An encoder that has not learnt retrieval (an untrained LM, a model from another domain)
finds almost none; BM25 or a working encoder finds nearly all. Adaptive fusion weighs each side by its
rate relative to the other's, squared, so a side far behind the other fades out:

    w_side = min(1, rate_side / rate_other) ** 2

Pseudo-queries share words with their documents, so they flatter BM25; the measure separates a side
that works from one that does not, not two sides that both work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hybrid.retrieval.types import BM25Query, KnnQuery, StoredDocument

if TYPE_CHECKING:
    from hybrid.retrieval.searcher import Searcher

SAMPLE = 200  # pseudo-queries per calibration
DEPTH = 10  # a source document found in a side's top DEPTH counts as a hit
MIN_TITLE_WORDS = 3
MAX_QUERY_WORDS = 24
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Calibration:
    bm25: float  # fraction of pseudo-queries whose source document BM25 ranks in its top DEPTH
    dense: float  # the same for the dense side
    queries: int

    def weights(self) -> tuple[float, float]:
        """(bm25, dense) multipliers of the configured side weights."""
        return _relative(self.bm25, self.dense), _relative(self.dense, self.bm25)

    def to_record(self) -> dict[str, object]:
        return {"bm25_self_hit": self.bm25, "dense_self_hit": self.dense, "queries": self.queries, "depth": DEPTH}

    @classmethod
    def from_record(cls, record: Mapping[str, object] | None) -> Calibration | None:
        if not record:
            return None
        return cls(float(record["bm25_self_hit"]), float(record["dense_self_hit"]), int(record["queries"]))  # type: ignore[arg-type, call-overload]

    def describe(self) -> str:
        bm25, dense = self.weights()
        return (f"self-hit@{DEPTH} of {self.queries} pseudo-queries: bm25 {self.bm25:.2f}, dense {self.dense:.2f} "
                f"(adaptive weights {bm25:.2f} / {dense:.2f})")


def _relative(rate: float, other: float) -> float:
    if other <= 0:
        return 1.0
    return min(1.0, rate / other) ** 2


def pseudo_query(doc: StoredDocument) -> str | None:
    """The title if it has a few words, else the text's first sentence; cut to MAX_QUERY_WORDS words."""
    text = doc.title if len(doc.title.split()) >= MIN_TITLE_WORDS else _SENTENCE_END.split(doc.text.strip(), 1)[0]
    words = text.split()
    return " ".join(words[:MAX_QUERY_WORDS]) if len(words) >= MIN_TITLE_WORDS else None


def self_hit_rates(sources: Sequence[str], lists: Sequence[Mapping[str, Sequence[tuple[str, float]]]]) -> tuple[float, float]:
    """Per side, the fraction of pseudo-queries whose source id is in that side's list."""
    found = {"bm25": 0, "dense": 0}
    for source, sides in zip(sources, lists):
        for side in found:
            found[side] += any(doc_id == source for doc_id, _ in sides[side][:DEPTH])
    return found["bm25"] / len(sources), found["dense"] / len(sources)


def calibrate(searcher: Searcher, *, sample: int = SAMPLE, seed: int = 0) -> Calibration | None:
    """Measure both sides on pseudo-queries from a random sample of the index (None if it has too few)."""
    docs = searcher.backend.sample(sample, seed)
    pairs = [(doc_id, q) for doc_id, doc in docs if (q := pseudo_query(doc)) is not None]
    if len(pairs) < 10:
        return None
    sources, texts = [p[0] for p in pairs], [p[1] for p in pairs]
    vectors = searcher.embed_queries(texts, None)
    lists = []
    for start in range(0, len(texts), 32):
        chunk = range(start, min(start + 32, len(texts)))
        subqueries = [q for i in chunk for q in (BM25Query(texts[i], DEPTH), KnnQuery(vectors[i], DEPTH))]
        answers = searcher.backend.retrieve(subqueries)
        lists += [{"bm25": answers[2 * j], "dense": answers[2 * j + 1]} for j in range(len(chunk))]
    bm25, dense = self_hit_rates(sources, lists)
    return Calibration(bm25, dense, len(sources))
