"""How an index's BM25 side is laid out — which fields are scored, with which BM25 parameters — the
same on OpenSearch and the embedded backend. Each index records its layout, so an index built before
a change keeps being searched the way it was built until it is rebuilt (``--reindex``).

``body`` (current): title and text are analysed together as one field (OpenSearch: ``copy_to`` into
``body``; embedded: one BM25 over ``title + " " + text``), English analysis (possessives, Lucene's stop
words, Porter stems), one ``match`` query, k1 0.9 / b 0.4 as the index's similarity: the standard
BM25 baseline's set-up (Anserini's BEIR runs).

``fields`` (indices built before the layout was recorded): title and text scored apart with Lucene's
defaults k1 1.2 / b 0.75, the best field wins, title matches weighted 2x (``multi_match best_fields``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

LayoutName = Literal["body", "fields"]
BODY_FIELD = "body"


@dataclass(frozen=True)
class LexicalLayout:
    name: LayoutName
    k1: float
    b: float
    title_boost: float = 1.0  # ``fields`` only: weight of title matches against text matches

    def to_block(self) -> dict[str, object]:
        return {"layout": self.name, "k1": self.k1, "b": self.b}

    @classmethod
    def from_block(cls, block: Mapping[str, object] | None) -> LexicalLayout:
        """The recorded layout; an index without one was built with ``fields``."""
        if not block:
            return FIELDS_LAYOUT
        name = block.get("layout")
        if name == "body":
            return cls("body", float(block["k1"]), float(block["b"]))  # type: ignore[arg-type]
        if name == "fields":
            return FIELDS_LAYOUT
        raise ValueError(f"unknown BM25 layout {name!r}")

    @property
    def outdated(self) -> bool:
        return self != CURRENT_LAYOUT

    def upgrade_hint(self, index: str) -> str:
        """What to tell a user searching an index with an older layout."""
        return (f"index {index!r} has the older BM25 layout ({self.name}: title and text scored apart); "
                f"rebuild it with `hybrid ingest SOURCE --index {index} --reindex` for the {CURRENT_LAYOUT.name} "
                f"layout (title and text as one field, k1 {CURRENT_LAYOUT.k1} / b {CURRENT_LAYOUT.b})")


CURRENT_LAYOUT = LexicalLayout("body", 0.9, 0.4)
FIELDS_LAYOUT = LexicalLayout("fields", 1.2, 0.75, title_boost=2.0)
