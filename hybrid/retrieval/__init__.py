"""Retrieval: fusion functions, request validation, retrievers and the searcher facade."""

from hybrid.retrieval.fusion import FusedHit, fuse
from hybrid.retrieval.request import (
    MAX_K,
    MODES,
    BadRequestError,
    FusionConfig,
    Mode,
    RangeFilter,
    SearchRequest,
    TermFilter,
    merge_ranges,
    parse_filter,
)
from hybrid.retrieval.searcher import Searcher
from hybrid.retrieval.types import Hit, SearchBackend, SearchResponse, StoredDocument

__all__ = [
    "MAX_K",
    "MODES",
    "BadRequestError",
    "FusedHit",
    "FusionConfig",
    "Hit",
    "Mode",
    "RangeFilter",
    "SearchBackend",
    "SearchRequest",
    "SearchResponse",
    "Searcher",
    "StoredDocument",
    "TermFilter",
    "fuse",
    "merge_ranges",
    "parse_filter",
]
