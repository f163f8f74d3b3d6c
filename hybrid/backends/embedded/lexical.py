"""BM25 for the embedded index with bm25s, scored as OpenSearch scores it (the current layout) or like
rank-bm25's BM25Okapi (indices built before it).

``lucene``: ``idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl / avgdl))`` with
``idf = ln(1 + (N - n + 0.5) / (n + 0.5))``: OpenSearch's BM25 (Lucene's idf; OpenSearch keeps the
``(k1 + 1)`` factor that Lucene 8 dropped) — the same numbers as the OpenSearch index on the same tokens.
``okapi``: bm25s's ``robertson`` variant times ``(k1 + 1)``, which is BM25Okapi (Robertson & Zaragoza
2009, eq. 3.26) except for terms in more than half the documents, whose negative idf BM25Okapi floors
at ``epsilon * mean idf`` and bm25s at 0.
Which fields get a BM25 index follows the index's layout (``hybrid.lexical``): one over title and text
together (``body``), or one per field (``fields``), like the OpenSearch index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from hybrid.analysis import analyze
from hybrid.lexical import BODY_FIELD, LexicalLayout

K1 = 1.2  # Lucene's (and OpenSearch's) BM25 defaults
B = 0.75


Scoring = Literal["lucene", "okapi"]


def layout_fields(layout: LexicalLayout) -> tuple[str, ...]:
    """The BM25 indices an embedded index of this layout holds (one per scored field)."""
    return (BODY_FIELD,) if layout.name == "body" else ("title", "text")


def layout_scoring(layout: LexicalLayout) -> Scoring:
    """OpenSearch's scores for the current layout; the older layout's embedded scores stay as they were."""
    return "lucene" if layout.name == "body" else "okapi"


def field_values(layout: LexicalLayout, title: str, text: str) -> dict[str, str]:
    """The text of each BM25 field the layout scores, for one document (OpenSearch's ``copy_to`` joins the
    two values the same way: one field, the title's tokens then the text's)."""
    if layout.name == "body":
        return {BODY_FIELD: f"{title} {text}"}
    return {"title": title, "text": text}


_BM25S_METHOD = {"lucene": "lucene", "okapi": "robertson"}


class FieldBM25:
    """BM25 over one text field of every document (row order = the index's document order)."""

    def __init__(self, retriever: object, k1: float = K1, scoring: Scoring = "okapi") -> None:
        self._retriever = retriever
        self.k1 = k1
        self.scoring = scoring
        self._scale = k1 + 1  # bm25s leaves out the (k1 + 1) factor that OpenSearch and BM25Okapi keep

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = K1, b: float = B, scoring: Scoring = "okapi") -> FieldBM25:
        import bm25s

        retriever = bm25s.BM25(method=_BM25S_METHOD[scoring], k1=k1, b=b, idf_method=_BM25S_METHOD[scoring])
        retriever.index([analyze(t) for t in texts], show_progress=False)
        return cls(retriever, k1, scoring)

    def scores(self, query: str) -> np.ndarray:
        """BM25Okapi score of every document for ``query`` (zeros where no term matches)."""
        return self.scores_for_tokens(analyze(query))

    def scores_for_tokens(self, tokens: list[str]) -> np.ndarray:
        tokens = [t for t in tokens if t in self._retriever.vocab_dict]  # type: ignore[attr-defined]
        if not tokens:
            return np.zeros(self._retriever.scores["num_docs"], dtype=np.float32)  # type: ignore[attr-defined]
        return self._retriever.get_scores(tokens) * self._scale  # type: ignore[attr-defined, no-any-return]

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))  # type: ignore[attr-defined]
        (folder / "hybrid.json").write_text(json.dumps({"k1": self.k1, "scoring": self.scoring}))

    @classmethod
    def load(cls, folder: Path) -> FieldBM25:
        import bm25s

        saved = json.loads((folder / "hybrid.json").read_text())
        return cls(bm25s.BM25.load(str(folder)), saved["k1"], saved.get("scoring", "okapi"))
