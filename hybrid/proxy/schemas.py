"""Request and response bodies of the v1 API. Bounds and defaults come from ``hybrid.retrieval.params``,
so the schema, the CLI and the library validation agree; what depends on the index (filter fields,
the page against the windows) is checked by the library and answered with a 400."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hybrid.backends.base import INDEX_NAME_PATTERN
from hybrid.retrieval import Hit, RangeFilter, SearchRequest, TermFilter, params
from hybrid.retrieval.facets import MAX_FACETS
from hybrid.retrieval.fusion import FusionMethod
from hybrid.retrieval.request import Filter, FusionChanges, fusion_changes

SNIPPET_CHARS = 300


def bounded(param: params.Param, *, integer: bool = False, description: str | None = None):  # type: ignore[no-untyped-def]
    """A pydantic field with the parameter's default, bounds and meaning."""
    default = int(param.default) if integer else param.default
    low, high = (int(param.low), int(param.high)) if integer else (param.low, param.high)
    return Field(default, ge=low, le=high, description=description or param.help)


def optional_window(side: str):  # type: ignore[no-untyped-def]
    return Field(None, ge=int(params.WINDOW.low), le=int(params.WINDOW.high),
                 description=f"the {side} side's window (default: window)")


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
    method: FusionMethod = "adaptive"
    rank_constant: float = bounded(params.RANK_CONSTANT)
    window: int = bounded(params.WINDOW, integer=True, description=f"{params.WINDOW.help} (both sides)")
    bm25_window: int | None = optional_window("BM25")
    dense_window: int | None = optional_window("dense")
    bm25_weight: float = bounded(params.WEIGHT)
    dense_weight: float = bounded(params.WEIGHT)

    def changes(self) -> FusionChanges:
        """The fields the client set; the rest come from the index's default fusion (see `hybrid tune`)."""
        return fusion_changes(**{name: getattr(self, name) for name in self.model_fields_set})


class SearchParameters(BaseModel):
    """The search's plain fields: all a link can carry (``GET /v1/search?query=…``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    query: str = Field(min_length=1, max_length=params.MAX_QUERY_CHARS, description="the user's text")
    mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    k: int = bounded(params.K, integer=True)
    from_: int = Field(int(params.OFFSET.default), ge=int(params.OFFSET.low), le=int(params.OFFSET.high),
                       alias="from", description=params.OFFSET.help)
    instruction: str | None = Field(None, max_length=params.MAX_INSTRUCTION_CHARS,
                                    description="task name (scifact …) or free text")
    explain: bool = Field(False, description="add each hit's BM25 and dense rank and score")
    highlight: bool = Field(False, description="mark the query's words in title and snippet; dense-only hits get the "
                                               "sentence closest to the query as snippet")
    rerank: int | None = Field(None, ge=int(params.RERANK.low), le=int(params.RERANK.high),
                               description=params.RERANK.help + " (default: the proxy's 'rerank' setting)")


class SearchLink(SearchParameters):
    """A search as query parameters, with the index among them."""

    index: str | None = Field(None, pattern=INDEX_NAME_PATTERN, description="index (alias); default: the proxy's")

    def body(self) -> SearchBody:
        return SearchBody.model_validate(self.model_dump(by_alias=True, exclude={"index"}, exclude_unset=True))


class SearchBody(SearchParameters):
    filters: dict[str, FilterValue] = Field(default_factory=dict, max_length=params.MAX_FILTERS,
                                            description='e.g. {"year": {"gte": 2015}, "mesh": ["Aged", "Humans"]}')
    fusion: FusionBody | None = Field(None, description="fields not given come from the index's default fusion")
    ef_search: int | None = Field(None, ge=int(params.EF_SEARCH.low), le=int(params.EF_SEARCH.high),
                                  description=params.EF_SEARCH.help)
    facets: list[str] = Field(default_factory=list, max_length=MAX_FACETS,
                              description='metadata fields to count over the ranked list, e.g. ["year", "journal"]')

    def to_request(self, default_rerank: int = 0) -> SearchRequest:
        filters: list[Filter] = []
        for name, value in self.filters.items():
            if isinstance(value, RangeBody):
                filters.append(RangeFilter(name, value.gte, value.lte))
            else:
                values = tuple(value) if isinstance(value, list) else (value,)
                filters.append(TermFilter(name, values))
        return SearchRequest(self.query, self.mode, self.k, self.from_, tuple(filters), self.instruction,
                             self.explain, fusion_changes=self.fusion.changes() if self.fusion else (),
                             facets=tuple(self.facets), highlight=self.highlight, ef_search=self.ef_search,
                             rerank=default_rerank if self.rerank is None else self.rerank)


class SideScore(BaseModel):
    rank: int
    score: float
    normalized: float | None = Field(None, description="hybrid: the value fusion gave this side's score, before its weight")


class FusionApplied(BaseModel):
    method: str
    bm25_weight: float = Field(description="as applied: for adaptive, the requested weight times the index's calibration")
    dense_weight: float


class HighlightBody(BaseModel):
    title: list[tuple[int, int]] = Field(description="[start, end) character spans of the query's words in the title")
    snippet_spans: list[tuple[int, int]] = Field(description="the same in the snippet")
    chosen_by: Literal["bm25", "dense", "start"] = Field(
        description="bm25: the sentence with most query words; dense: the sentence closest to the query's embedding")


class HitBody(BaseModel):
    id: str
    rank: int
    score: float
    title: str
    snippet: str
    found_by: list[str]
    bm25: SideScore | None = Field(None, description="with explain: the hit's BM25 rank and score, if BM25 found it")
    dense: SideScore | None = Field(None, description="with explain: the hit's dense rank and score, if found densely")
    rerank: float | None = Field(None, description="with explain: the cross-encoder's score, inside the rerank window")
    passage: tuple[int, int] | None = Field(
        None, description="an index of passages: the [start, end) character span of the text whose passage the dense "
                          "side scored the document by; the snippet comes from it")
    metadata: dict[str, object] = Field(default_factory=dict)
    highlight: HighlightBody | None = Field(None, description="with highlight: where the query's words are")

    @classmethod
    def of(cls, hit: Hit, *, explain: bool) -> HitBody:
        start = 0 if hit.passage is None else hit.passage[0]
        text = hit.text[start:]
        snippet = text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
        snippet = ("… " if start else "") + snippet
        marks = None
        if hit.highlight is not None:
            snippet = hit.highlight.snippet
            marks = HighlightBody(title=list(hit.highlight.title), snippet_spans=list(hit.highlight.snippet_spans),
                                  chosen_by=hit.highlight.chosen_by)  # type: ignore[arg-type]
        sides = {}
        if explain:
            sides = {
                "bm25": SideScore(rank=hit.bm25_rank, score=hit.bm25_score, normalized=hit.bm25_norm)
                if hit.bm25_rank is not None else None,
                "dense": SideScore(rank=hit.dense_rank, score=hit.dense_score, normalized=hit.dense_norm)
                if hit.dense_rank is not None else None,
                "rerank": hit.rerank_score,
            }
        return cls(id=hit.doc_id, rank=hit.rank, score=hit.score, title=hit.title, snippet=snippet,
                   found_by=list(hit.found_by), passage=hit.passage, metadata=dict(hit.metadata), highlight=marks,
                   **sides)  # type: ignore[arg-type]


class FacetBucket(BaseModel):
    value: str | int
    count: int


class SearchResult(BaseModel):
    index: str
    mode: str
    took_ms: float
    candidates: int = Field(description="length of the ranked list the page was cut from")
    offset: int
    fusion: FusionApplied | None = Field(None, description="with explain, hybrid mode: the fusion this query ran")
    hits: list[HitBody]
    facets: dict[str, list[FacetBucket]] | None = Field(
        None, description="with facets: per field, document counts over the ranked list (integer fields by value, "
                          "keyword fields the most frequent values)")
    warnings: list[str] | None = Field(
        None, description="present when the results are partial: shards of the index that did not answer, and why")
    reranker: str | None = Field(None, description="with a rerank stage: the cross-encoder (name and fingerprint)")


class DocumentBody(BaseModel):
    id: str
    title: str
    text: str
    metadata: dict[str, object]


class IndexInfo(BaseModel):
    name: str
    documents: int
    default: bool = Field(False, description="the index /v1/search answers from when no ?index= is given")
    metadata_fields: dict[str, str] = Field(default_factory=dict,
                                            description="filterable and facetable fields: integer or keyword")
    fingerprint: dict[str, object]
    lexical: dict[str, object]  # the BM25 layout: {"layout": "body", "k1": 0.9, "b": 0.4}
    note: str | None = None  # e.g. that the index has an older BM25 layout and how to rebuild it


class Problem(BaseModel):
    detail: str
