"""A search as pure steps: plan it, rank what the backend returned, assemble the page.

The I/O between the steps — embedding the query, one round trip for the sub-queries, fetching the
page's documents — is the caller's: ``Searcher`` does it blocking, ``AsyncSearcher`` awaits it, and
evaluation batches many queries. Everything that decides what a search returns is here, once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hybrid.index_meta import IndexMeta
from hybrid.recipes import check_fingerprint, passage_text, resolve_instruction
from hybrid.recipes.fingerprint import Fingerprint
from hybrid.rerank.stage import rerank_depth, reranked
from hybrid.retrieval.calibration import Calibration
from hybrid.retrieval.facets import FacetCounts, FacetQuery
from hybrid.retrieval.fusion import RankedList, fuse
from hybrid.retrieval.highlight import MAX_DENSE_SNIPPETS, DenseSnippets, highlight, query_terms
from hybrid.retrieval.request import BadRequestError, Filter, FusionConfig, Mode, SearchRequest
from hybrid.retrieval.types import (
    SIDES,
    AppliedFusion,
    BM25Query,
    Hit,
    KnnQuery,
    SearchResponse,
    Side,
    SideQuery,
    StoredDocument,
    matched_passages,
)

# Which sides each mode ranks from.
MODE_SIDES: dict[Mode, tuple[Side, ...]] = {"bm25": ("bm25",), "dense": ("dense",), "hybrid": SIDES}


@dataclass(frozen=True)
class SearchPlan:
    """A validated request against one index: what to embed, which sub-queries to send."""

    request: SearchRequest
    meta: IndexMeta
    instruction: str | None  # the instruction text (a task name resolved), or None for the encoder's default

    @property
    def sides(self) -> tuple[Side, ...]:
        return MODE_SIDES[self.request.mode]

    @property
    def fusion(self) -> FusionConfig:
        return self.request.settled_fusion

    @cached_property
    def reliability(self) -> tuple[float, float]:
        """The index's calibration weights, read once per search (ranking and the response both use them)."""
        return reliability_of(self.meta)

    @property
    def needs_vector(self) -> bool:
        return "dense" in self.sides

    def check_encoder(self, fingerprint: Fingerprint, index: str) -> None:
        """Refuse to embed the query with another encoder than the one that built the index."""
        check_fingerprint(self.meta.fingerprint, fingerprint, index=index)

    def queries(self, vector: np.ndarray | None) -> list[SideQuery]:
        """The mode's sub-queries, in ``sides`` order, each as deep as its side's window."""
        return side_queries(self.request.query, vector, self.fusion, self.sides, self.request.filters,
                            self.request.ef_search)

    def rank(self, lists: Sequence[RankedList]) -> list[Hit]:
        """The mode's ranked list from the backend's answers to ``queries``."""
        return rank_hits(self.request.mode, dict(zip(self.sides, lists)), self.fusion, self.reliability)

    def page_ids(self, ranked: Sequence[Hit]) -> list[str]:
        return [h.doc_id for h in page_of(ranked, self.request)]

    def rerank_depth(self, ranked: Sequence[Hit]) -> int:
        return rerank_depth(self.request.rerank, self.request.offset, len(ranked))

    def fetch_ids(self, ranked: Sequence[Hit]) -> list[str]:
        """The documents to fetch in one round trip: the rerank window's (the cross-encoder reads them)
        and the page's positions below it (which reranking leaves where they are)."""
        depth = self.rerank_depth(ranked)
        if not depth:
            return self.page_ids(ranked)
        below = ranked[max(depth, self.request.offset) : self.request.page_end]
        return list(dict.fromkeys([h.doc_id for h in ranked[:depth]] + [h.doc_id for h in below]))

    def rerank_pairs(self, ranked: Sequence[Hit], stored: Mapping[str, StoredDocument]) -> tuple[list[str], list[str]]:
        return rerank_pairs(ranked[: self.rerank_depth(ranked)], stored)

    def reranked(self, ranked: Sequence[Hit], ids: Sequence[str], scores: Sequence[float]) -> list[Hit]:
        return reranked(ranked, dict(zip(ids, map(float, scores))), self.rerank_depth(ranked))

    def facet_query(self, ranked: Sequence[Hit]) -> FacetQuery | None:
        """What to count for the request's facets: its fields over the whole ranked list (None: no facets)."""
        if not self.request.facets:
            return None
        kinds = self.meta.metadata_fields
        return FacetQuery(tuple((name, kinds[name]) for name in self.request.facets), tuple(h.doc_id for h in ranked))

    def dense_snippets(self, ranked: Sequence[Hit], stored: Mapping[str, StoredDocument]) -> DenseSnippets | None:
        """With highlights: the sentences of the page's hits only the dense side found (the first
        ``MAX_DENSE_SNIPPETS``), whose snippets sentence embeddings choose; later ones go by query terms."""
        if not self.request.highlight:
            return None
        dense_only = [h for h in page_of(ranked, self.request) if h.found_by == ("dense",) and h.doc_id in stored]
        chosen = dense_only[:MAX_DENSE_SNIPPETS]
        return DenseSnippets.of({h.doc_id: stored[h.doc_id].text for h in chosen},
                                {h.doc_id: h.passage for h in chosen if h.passage is not None})

    def respond(self, index: str, ranked: Sequence[Hit], stored: Mapping[str, StoredDocument],
                started: float, facets: FacetCounts | None = None,
                closest: Mapping[str, int] | None = None, warnings: tuple[str, ...] = (),
                reranker: str | None = None) -> SearchResponse:
        """The page, with its documents' bodies (and highlights, when asked: ``closest`` gives the snippet
        sentence of dense-only hits), timed from ``started`` (``time.perf_counter``)."""
        hits = with_documents(page_of(ranked, self.request), stored)
        if self.request.highlight:
            terms = query_terms(self.request.query)
            closest = closest or {}
            hits = [h._replace(highlight=highlight(h.title, h.text, terms, closest_sentence=closest.get(h.doc_id),
                                                   passage=h.passage)) for h in hits]
        took = (time.perf_counter() - started) * 1000
        fusion = applied_fusion(self.fusion, self.reliability) if self.request.mode == "hybrid" else None
        return SearchResponse(index, self.request.mode, tuple(hits), self.request.offset, len(ranked), took, fusion,
                              facets, warnings, reranker if self.rerank_depth(ranked) else None)


def plan_search(request: SearchRequest, meta: IndexMeta) -> SearchPlan:
    """Settle the request's fusion against the index's default, validate it against the index and resolve
    its instruction (``BadRequestError`` if wrong)."""
    try:
        request = request.resolved(meta.default_fusion)
    except ValueError as exc:  # a damaged stored default
        raise BadRequestError(f"the index's default fusion is unusable ({exc}); rerun `hybrid tune`") from None
    request.validate(meta.metadata_fields)
    try:
        instruction = resolve_instruction(request.instruction)
    except ValueError as exc:
        raise BadRequestError(str(exc)) from None
    return SearchPlan(request, meta, instruction)


def side_queries(query: str, vector: np.ndarray | None, fusion: FusionConfig, sides: Sequence[Side],
                 filters: tuple[Filter, ...] = (), ef_search: int | None = None) -> list[SideQuery]:
    out: list[SideQuery] = []
    for side in sides:
        if side == "bm25":
            out.append(BM25Query(query, fusion.bm25_window, filters))
        else:
            if vector is None:
                raise ValueError("the dense side needs the query embedding")
            out.append(KnnQuery(vector, fusion.dense_window, filters, ef_search))
    return out


def single_hits(ranked: RankedList, side: Side) -> list[Hit]:
    hits = []
    for rank, (doc_id, score) in enumerate(ranked, start=1):
        per_side = {f"{side}_rank": rank, f"{side}_score": score}
        hits.append(Hit(doc_id, score, rank, (side,), **per_side))  # type: ignore[arg-type]
    return hits


def applied_fusion(fusion: FusionConfig, reliability: tuple[float, float] = (1.0, 1.0)) -> AppliedFusion:
    """What ``fused_hits`` runs: ``adaptive`` is DBSF with the side weights scaled by the index's
    ``reliability`` (calibration weights); every other method as configured."""
    if fusion.method == "adaptive":
        return AppliedFusion("adaptive (dbsf)", fusion.bm25_weight * reliability[0], fusion.dense_weight * reliability[1])
    return AppliedFusion(fusion.method, fusion.bm25_weight, fusion.dense_weight)


def fused_hits(bm25: RankedList, dense: RankedList, fusion: FusionConfig,
               reliability: tuple[float, float] = (1.0, 1.0)) -> list[Hit]:
    """Fuse the two sides' lists into ranked hits that carry each side's rank, score and normalised value."""
    applied = applied_fusion(fusion, reliability)
    method = "dbsf" if fusion.method == "adaptive" else fusion.method
    fused = fuse([bm25, dense], method=method, k=fusion.rank_constant,  # type: ignore[arg-type]
                 weights=[applied.bm25_weight, applied.dense_weight])
    hits = []
    for rank, f in enumerate(fused, start=1):
        found_by = tuple(side for side, r in zip(SIDES, f.ranks) if r is not None)
        hits.append(Hit(f.doc_id, f.score, rank, found_by, f.ranks[0], f.scores[0], f.ranks[1], f.scores[1],
                        f.normalized[0], f.normalized[1]))
    return hits


def reliability_of(meta: IndexMeta) -> tuple[float, float]:
    """The index's calibration weights (bm25, dense); 1, 1 for an index never calibrated."""
    calibration = Calibration.from_record(meta.calibration)
    return (1.0, 1.0) if calibration is None else calibration.weights()


def rank_hits(mode: Mode, lists: Mapping[Side, RankedList], fusion: FusionConfig,
              reliability: tuple[float, float] = (1.0, 1.0)) -> list[Hit]:
    """The one mode dispatch: a side's list as it is, or both fused. Each list is cut to its window,
    so lists retrieved deeper (evaluation sweeps) rank exactly as a search with these windows would."""
    windows = {"bm25": fusion.bm25_window, "dense": fusion.dense_window}
    cut = {side: ranked[: windows[side]] for side, ranked in lists.items()}
    hits = fused_hits(cut["bm25"], cut["dense"], fusion, reliability) if mode == "hybrid" else single_hits(cut[mode], mode)
    return with_passages(hits, matched_passages(lists.get("dense")))


def with_passages(hits: list[Hit], passages: Mapping[str, tuple[int, int]]) -> list[Hit]:
    """Hits the dense side found, with the span of the passage that scored them (an index of passages)."""
    if not passages:
        return hits
    return [h._replace(passage=passages[h.doc_id]) if h.doc_id in passages else h for h in hits]


def rerank_pairs(window: Sequence[Hit], stored: Mapping[str, StoredDocument]) -> tuple[list[str], list[str]]:
    """The rerank window's documents the cross-encoder scores, as ids and passage texts (title and text as
    they were embedded; of a long document, the passage the dense side matched); a document no longer
    stored is not scored."""
    kept = [h for h in window if h.doc_id in stored]
    texts = []
    for h in kept:  # a long document's matched passage, as it was embedded; else the whole document
        doc = stored[h.doc_id]
        texts.append(passage_text(doc.title, doc.text if h.passage is None else doc.text[h.passage[0] : h.passage[1]]))
    return [h.doc_id for h in kept], texts


def page_of(ranked: Sequence[Hit], request: SearchRequest) -> list[Hit]:
    return list(ranked[request.offset : request.page_end])


def with_documents(page: Sequence[Hit], stored: Mapping[str, StoredDocument]) -> list[Hit]:
    """The page's hits with title, text and metadata filled in from the stored documents."""
    hits = []
    for hit in page:
        doc = stored.get(hit.doc_id)
        hits.append(hit if doc is None else hit._replace(title=doc.title, text=doc.text, metadata=doc.metadata))
    return hits
