"""Request and response bodies of the v1 API (validated by pydantic: bad input is a clear 422)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hybrid.retrieval import MAX_K, FusionConfig, Hit, RangeFilter, SearchRequest, TermFilter
from hybrid.retrieval.request import MAX_QUERY_CHARS, Filter

SNIPPET_CHARS = 300


class RangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gte: int | None = None
    lte: int | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> RangeBody:
        if self.gte is None and self.lte is None:
            raise ValueError("a range needs gte and/or lte")
        return self


FilterValue = str | int | list[str | int] | RangeBody


class FusionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["rrf", "minmax", "zscore"] = "rrf"
    rank_constant: float = Field(60.0, ge=0, le=10_000)
    window: int = Field(100, ge=1, le=1000)
    bm25_weight: float = Field(1.0, ge=0, le=100)
    dense_weight: float = Field(1.0, ge=0, le=100)


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the user's text")
    mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    k: int = Field(10, ge=1, le=MAX_K, description="hits per page")
    from_: int = Field(0, ge=0, le=9000, alias="from", description="offset of the first hit")
    filters: dict[str, FilterValue] = Field(default_factory=dict, max_length=16,
                                            description='e.g. {"year": {"gte": 2015}, "mesh": ["Aged", "Humans"]}')
    instruction: str | None = Field(None, max_length=1000, description="task name (scifact …) or free text")
    explain: bool = False
    fusion: FusionBody = Field(default_factory=FusionBody)

    def to_request(self) -> SearchRequest:
        filters: list[Filter] = []
        for name, value in self.filters.items():
            if isinstance(value, RangeBody):
                filters.append(RangeFilter(name, value.gte, value.lte))
            else:
                values = tuple(value) if isinstance(value, list) else (value,)
                filters.append(TermFilter(name, values))
        fusion = FusionConfig(self.fusion.method, self.fusion.rank_constant, self.fusion.window,
                              self.fusion.bm25_weight, self.fusion.dense_weight)
        return SearchRequest(self.query, self.mode, self.k, self.from_, tuple(filters), self.instruction,
                             self.explain, fusion)


class SideScore(BaseModel):
    rank: int
    score: float


class HitBody(BaseModel):
    id: str
    rank: int
    score: float
    title: str
    snippet: str
    found_by: list[str]
    bm25: SideScore | None = None
    dense: SideScore | None = None
    metadata: dict[str, object] = Field(default_factory=dict)

    @classmethod
    def of(cls, hit: Hit) -> HitBody:
        snippet = hit.text if len(hit.text) <= SNIPPET_CHARS else hit.text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
        return cls(
            id=hit.doc_id, rank=hit.rank, score=hit.score, title=hit.title, snippet=snippet, found_by=list(hit.found_by),
            bm25=SideScore(rank=hit.bm25_rank, score=hit.bm25_score) if hit.bm25_rank is not None else None,
            dense=SideScore(rank=hit.dense_rank, score=hit.dense_score) if hit.dense_rank is not None else None,
            metadata=dict(hit.metadata),
        )


class SearchResult(BaseModel):
    index: str
    mode: str
    took_ms: float
    candidates: int
    offset: int
    hits: list[HitBody]


class DocumentBody(BaseModel):
    id: str
    title: str
    text: str
    metadata: dict[str, object]


class IndexInfo(BaseModel):
    name: str
    documents: int
    fingerprint: dict[str, object]


class Problem(BaseModel):
    detail: str
