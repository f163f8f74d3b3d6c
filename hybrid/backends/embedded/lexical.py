"""BM25 for the embedded index with bm25s, scored like rank-bm25's BM25Okapi.

bm25s's ``robertson`` variant computes ``idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))``; BM25Okapi
multiplies that by ``(k1 + 1)`` (Robertson & Zaragoza 2009, eq. 3.26). Scaling by ``k1 + 1``
makes the two agree on the same tokens (tested), except for terms in more than half the
documents, whose negative idf BM25Okapi floors at ``epsilon * mean idf`` and bm25s at 0.
Title and text are indexed separately, like the OpenSearch index's two fields.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hybrid.analysis import analyze

K1 = 1.2  # Lucene's (and OpenSearch's) BM25 defaults
B = 0.75
FIELDS = ("title", "text")


class FieldBM25:
    """BM25 over one text field of every document (row order = the index's document order)."""

    def __init__(self, retriever: object, k1: float = K1) -> None:
        self._retriever = retriever
        self.k1 = k1

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = K1, b: float = B) -> FieldBM25:
        import bm25s

        retriever = bm25s.BM25(method="robertson", k1=k1, b=b)
        retriever.index([analyze(t) for t in texts], show_progress=False)
        return cls(retriever, k1)

    def scores(self, query: str) -> np.ndarray:
        """BM25Okapi score of every document for ``query`` (zeros where no term matches)."""
        return self.scores_for_tokens(analyze(query))

    def scores_for_tokens(self, tokens: list[str]) -> np.ndarray:
        tokens = [t for t in tokens if t in self._retriever.vocab_dict]  # type: ignore[attr-defined]
        if not tokens:
            return np.zeros(self._retriever.scores["num_docs"], dtype=np.float32)  # type: ignore[attr-defined]
        return self._retriever.get_scores(tokens) * (self.k1 + 1)  # type: ignore[attr-defined, no-any-return]

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))  # type: ignore[attr-defined]
        (folder / "hybrid.json").write_text(json.dumps({"k1": self.k1}))

    @classmethod
    def load(cls, folder: Path) -> FieldBM25:
        import bm25s

        k1 = json.loads((folder / "hybrid.json").read_text())["k1"]
        return cls(bm25s.BM25.load(str(folder)), k1)
