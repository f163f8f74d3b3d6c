"""The rerank step of a search, pure: which hits a cross-encoder rescores and the list that results.

The window is always the top ``N`` of the fused list, whatever page is asked for, so every page of a
query is cut from the same reranked list: page 2 of a window of 20 shows hits 11–20 of that list, and
a page past the window shows the fused order there (the window's set of documents is the same either
way, so nothing moves across its edge).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the retrieval package imports this module
    from hybrid.retrieval.types import Hit


def rerank_depth(rerank: int, offset: int, ranked: int) -> int:
    """How many hits to rescore: none when the page starts past the window, else the window (or fewer
    when the list is shorter)."""
    if rerank <= 0 or offset >= rerank:
        return 0
    return min(rerank, ranked)


def reranked(ranked: Sequence[Hit], scores: Mapping[str, float], depth: int) -> list[Hit]:
    """The top ``depth`` hits ordered by their cross-encoder score (ties and unscored hits keep the fused
    order, unscored last), ranks renumbered; the hits below the window as they were."""
    window = list(ranked[:depth])
    window.sort(key=lambda h: (0, -scores[h.doc_id], h.rank) if h.doc_id in scores else (1, 0.0, h.rank))
    top = [h._replace(rank=i, rerank_score=scores.get(h.doc_id)) for i, h in enumerate(window, start=1)]
    return top + list(ranked[depth:])
