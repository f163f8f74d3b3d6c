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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.types import Side, StoredDocument

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


def _relative(rate: float, other: float) -> float:
    if other <= 0:
        return 1.0
    return min(1.0, rate / other) ** 2


def pseudo_query(doc: StoredDocument) -> str | None:
    """The title if it has a few words, else the text's first sentence; cut to MAX_QUERY_WORDS words."""
    text = doc.title if len(doc.title.split()) >= MIN_TITLE_WORDS else _SENTENCE_END.split(doc.text.strip(), 1)[0]
    words = text.split()
    return " ".join(words[:MAX_QUERY_WORDS]) if len(words) >= MIN_TITLE_WORDS else None


def self_hit_rates(lists: Mapping[str, Mapping[Side, RankedList]]) -> tuple[float, float]:
    """Per side, the fraction of pseudo-queries (keyed by their source document's id) whose source is in
    that side's top DEPTH."""
    found: dict[Side, int] = {"bm25": 0, "dense": 0}
    for source, sides in lists.items():
        for side in found:
            found[side] += any(doc_id == source for doc_id, _ in sides[side][:DEPTH])
    return found["bm25"] / len(lists), found["dense"] / len(lists)


def calibrate(searcher: Searcher, *, sample: int = SAMPLE, seed: int = 0) -> Calibration | None:
    """Measure both sides on pseudo-queries from a random sample of the index (None if it has too few)."""
    from hybrid.evaluation import collect_lists  # it ranks with the pipeline, which imports this module
    from hybrid.retrieval.request import FusionConfig

    queries = {doc_id: q for doc_id, doc in searcher.backend.sample(sample, seed) if (q := pseudo_query(doc)) is not None}
    if len(queries) < 10:
        return None
    lists = collect_lists(searcher, queries, instruction=None, windows=FusionConfig(bm25_window=DEPTH, dense_window=DEPTH))
    bm25, dense = self_hit_rates(lists.lists)
    return Calibration(bm25, dense, len(queries))
