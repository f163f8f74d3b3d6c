"""Every search parameter's default and limits, defined once: the CLI flags, the request validation
and the proxy's schema all derive from these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """A numeric search parameter: its default, inclusive bounds, and what it means."""

    default: float
    low: float
    high: float
    help: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def range(self) -> str:
        return f"{self.low:g}..{self.high:g}"


# How many hits one sub-query may ask a backend for (OpenSearch's default index.max_result_window,
# which also caps a k-NN query's k).
MAX_DEPTH = 10_000
MAX_QUERY_CHARS = 4096
MAX_INSTRUCTION_CHARS = 1000
MAX_FILTERS = 16

K = Param(10, 1, 1000, "hits per page")
OFFSET = Param(0, 0, MAX_DEPTH - 1, "position of the page's first hit in the ranked list (paging)")
WINDOW = Param(
    100, 1, MAX_DEPTH,
    "hits taken from a side (BM25 or dense) for every page of a query: the ranked list a page is cut "
    "from holds at most this many per side",
)
EF_SEARCH = Param(
    100, 1, MAX_DEPTH,
    "HNSW candidates the dense side examines (OpenSearch; at least the dense window is used): higher finds "
    "more of the exact nearest neighbours, slower; default the engine's",
)
RERANK = Param(
    0, 0, 1000,
    "hits at the top of the ranked list a cross-encoder rescores (0: no rerank stage); pages inside this "
    "window are cut from the reranked list, pages past it keep the fused order",
)
RANK_CONSTANT = Param(60, 0, 10_000, "RRF rank constant k in 1 / (k + rank)")
WEIGHT = Param(1.0, 0, 100, "weight of a side's contribution to the fused score")
