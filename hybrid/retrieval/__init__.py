"""Retrieval: request validation, fusion, the pure search steps, and the searchers that run them.

Nothing here imports torch: an encoder is passed in, never loaded here.
"""

from hybrid.retrieval.fusion import FusedHit, RankedList, fuse
from hybrid.retrieval.pipeline import SearchPlan, plan_search, rank_hits
from hybrid.retrieval.request import (
    MODES,
    BadRequestError,
    Filter,
    FusionConfig,
    Mode,
    RangeFilter,
    SearchRequest,
    TermFilter,
    merge_ranges,
    parse_filter,
)
from hybrid.retrieval.searcher import AsyncSearcher, Searcher
from hybrid.retrieval.types import BM25Query, Hit, KnnQuery, SearchResponse, SideQuery, StoredDocument

__all__ = [
    "MODES",
    "AsyncSearcher",
    "BM25Query",
    "BadRequestError",
    "Filter",
    "FusedHit",
    "FusionConfig",
    "Hit",
    "KnnQuery",
    "Mode",
    "RangeFilter",
    "RankedList",
    "SearchPlan",
    "SearchRequest",
    "SearchResponse",
    "Searcher",
    "SideQuery",
    "StoredDocument",
    "TermFilter",
    "fuse",
    "merge_ranges",
    "parse_filter",
    "plan_search",
    "rank_hits",
]
