"""OpenSearch's own server-side hybrid search (neural-search plugin), for comparison with ours.

A ``hybrid`` query (top level, at most 5 sub-queries) runs through a search pipeline whose
``score-ranker-processor`` fuses with RRF (the form 2.19 reads:
``{"combination": {"technique": "rrf", "parameters": {"rank_constant": 60}}}``). In 2.19 those RRF
ranks are computed per shard and then merged, and the sub-queries cannot be weighted; our
client-side fusion ranks over the merged top lists (global ranks) and supports weights.
``per_shard_rrf`` reproduces the server's per-shard behaviour with plain queries, so the difference
can be shown on any cluster, with or without the plugin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from hybrid.backends.base import BackendError
from hybrid.backends.opensearch.queries import IDS_ONLY, bm25_body, knn_body, ranked_list
from hybrid.index_meta import IndexMeta
from hybrid.retrieval import params
from hybrid.retrieval.fusion import RankedList, fuse
from hybrid.retrieval.request import Filter

DEFAULT_RANK_CONSTANT = params.RANK_CONSTANT.default

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

PIPELINE = "hybrid-rrf"


def rrf_pipeline_body(rank_constant: float = DEFAULT_RANK_CONSTANT) -> dict[str, object]:
    return {
        "description": "RRF over the sub-queries of a hybrid query (created by the hybrid package)",
        "phase_results_processors": [
            {"score-ranker-processor": {"combination": {"technique": "rrf", "parameters": {"rank_constant": rank_constant}}}}
        ],
    }


def hybrid_query_body(query: str, vector: np.ndarray, size: int, filters: Sequence[Filter],
                      meta: IndexMeta) -> dict[str, object]:
    """The same two sub-queries as our client-side hybrid, as one server-side ``hybrid`` query."""
    lexical = bm25_body(query, size, filters, meta.lexical)["query"]
    dense = knn_body(vector, size, filters, passages=meta.passages is not None)["query"]
    return {"size": size, **IDS_ONLY, "query": {"hybrid": {"queries": [lexical, dense]}}}


def has_neural_search(client: OpenSearch) -> bool:
    return any(row.get("component") == "opensearch-neural-search" for row in client.cat.plugins(format="json"))


def ensure_pipeline(client: OpenSearch, rank_constant: float = DEFAULT_RANK_CONSTANT) -> None:
    if not has_neural_search(client):
        raise BackendError(
            "server-side hybrid search needs the neural-search plugin, which this cluster does not have "
            "(the local manager cannot install it: it is not on Maven Central). Use compose/docker-compose.yml "
            "or a cluster that has it; client-side fusion works everywhere."
        )
    client.transport.perform_request("PUT", f"/_search/pipeline/{PIPELINE}", body=rrf_pipeline_body(rank_constant))


def server_side_hybrid(client: OpenSearch, index: str, query: str, vector: np.ndarray, size: int,
                       meta: IndexMeta, filters: Sequence[Filter] = ()) -> RankedList:
    """The ranked list of OpenSearch's own RRF pipeline (call ``ensure_pipeline`` first)."""
    body = hybrid_query_body(query, vector, size, filters, meta)
    return ranked_list(client.search(index=index, body=body, params={"search_pipeline": PIPELINE}))


def per_shard_rrf(client: OpenSearch, index: str, query: str, vector: np.ndarray, size: int, meta: IndexMeta,
                  rank_constant: float = DEFAULT_RANK_CONSTANT, depth: int = 100) -> RankedList:
    """Our simulation of RRF as neural-search 2.19 computes it — ranks within each shard, then the shards'
    lists merged by fused score — from plain per-shard queries (``preference=_shards:N``). It needs no
    plugin; it is not the plugin's output (``server_side_hybrid`` is)."""
    settings = client.indices.get_settings(index=index)
    shards = int(settings[next(iter(settings))]["settings"]["index"]["number_of_shards"])
    merged: list[tuple[str, float]] = []
    for shard in range(shards):
        preference = f"_shards:{shard}"
        lexical = ranked_list(client.search(index=index, body=bm25_body(query, depth, (), meta.lexical),
                                            params={"preference": preference}))
        dense = ranked_list(client.search(index=index, body=knn_body(vector, depth, (), passages=meta.passages is not None),
                                          params={"preference": preference}))
        merged += [(h.doc_id, h.score) for h in fuse([lexical, dense], method="rrf", k=rank_constant)]
    merged.sort(key=lambda item: (-item[1], item[0]))
    return merged[:size]
