"""What a search asks for, validated before anything runs: mode, page, filters, fusion settings.

Paging walks one ranked list per query. Each side contributes a fixed number of hits, its window
(what OpenSearch calls ``pagination_depth``), whatever page is asked for: BM25 mode pages through the
top ``bm25_window`` BM25 hits, dense mode through the top ``dense_window`` neighbours, hybrid mode
through the fusion of both. Every page of a query is then a slice of the same list; a page that
ends past what the windows can hold is refused with the window to raise.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from hybrid.documents import MetadataFields
from hybrid.retrieval import params
from hybrid.retrieval.facets import MAX_FACETS
from hybrid.retrieval.fusion import FUSION_METHODS, FusionMethod

Mode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")


class BadRequestError(ValueError):
    """The request itself is wrong (empty query, a page past the windows, unknown filter field …)."""


@dataclass(frozen=True)
class TermFilter:
    """Documents whose ``field`` equals one of ``values`` (keyword or integer fields)."""

    field: str
    values: tuple[str | int, ...]


@dataclass(frozen=True)
class RangeFilter:
    """Documents whose integer ``field`` lies in ``[gte, lte]`` (either bound may be open)."""

    field: str
    gte: int | None = None
    lte: int | None = None


Filter = TermFilter | RangeFilter


@dataclass(frozen=True)
class FusionConfig:
    """How deep each side goes and how the two are fused (defaults and limits: ``params``)."""

    method: FusionMethod = "adaptive"
    rank_constant: float = params.RANK_CONSTANT.default
    bm25_window: int = int(params.WINDOW.default)
    dense_window: int = int(params.WINDOW.default)
    bm25_weight: float = params.WEIGHT.default
    dense_weight: float = params.WEIGHT.default

    def to_record(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> FusionConfig:
        """A stored fusion (an index's default); unknown keys or bad values raise ``ValueError``."""
        try:
            config = cls(**record)  # type: ignore[arg-type]
        except TypeError as exc:
            raise ValueError(f"stored fusion settings {dict(record)}: {exc}") from None
        problems = config.problems()
        if problems:
            raise ValueError("stored fusion settings: " + "; ".join(problems))
        return config

    @classmethod
    def of_index(cls, default_fusion: Mapping[str, object] | None) -> FusionConfig:
        """The fusion an index uses when a request names none: what `hybrid tune` stored, else the defaults."""
        if not default_fusion:
            return cls()
        return cls.from_record(default_fusion["config"])  # type: ignore[arg-type]

    def problems(self) -> list[str]:
        out = []
        if self.method not in FUSION_METHODS:
            out.append(f"fusion method {self.method!r}: choose one of {', '.join(FUSION_METHODS)}")
        for name, value, param in (
            ("rank constant", self.rank_constant, params.RANK_CONSTANT),
            ("bm25 window", self.bm25_window, params.WINDOW),
            ("dense window", self.dense_window, params.WINDOW),
            ("bm25 weight", self.bm25_weight, params.WEIGHT),
            ("dense weight", self.dense_weight, params.WEIGHT),
        ):
            if not param.contains(value):
                out.append(f"{name} {value:g} is out of range {param.range}")
        return out


FusionChanges = tuple[tuple[str, object], ...]  # FusionConfig fields set on top of an index's default


def fusion_changes(*, method: str | None = None, rank_constant: float | None = None, window: int | None = None,
                   bm25_window: int | None = None, dense_window: int | None = None,
                   bm25_weight: float | None = None, dense_weight: float | None = None) -> FusionChanges:
    """The fusion fields a caller set (None: not set); ``window`` sets both sides unless a side's own is set."""
    changes = {"method": method, "rank_constant": rank_constant, "bm25_weight": bm25_weight,
               "dense_weight": dense_weight, "bm25_window": bm25_window or window, "dense_window": dense_window or window}
    return tuple((name, value) for name, value in changes.items() if value is not None)


def settle_fusion(fusion: FusionConfig | None, changes: FusionChanges,
                  default_fusion: Mapping[str, object] | None) -> FusionConfig:
    """``fusion`` (else the index's default) with ``changes`` applied; a stored default that is unusable
    raises ``ValueError``, an unknown field ``BadRequestError``."""
    base = fusion or FusionConfig.of_index(default_fusion)
    try:
        return dataclasses.replace(base, **dict(changes))
    except TypeError as exc:
        raise BadRequestError(f"fusion: {exc}") from None


@dataclass(frozen=True)
class SearchRequest:
    query: str
    mode: Mode = "hybrid"
    k: int = int(params.K.default)
    offset: int = int(params.OFFSET.default)  # "from"
    filters: tuple[Filter, ...] = ()
    instruction: str | None = None
    explain: bool = False
    # None: the index's default fusion (``FusionConfig.of_index``). ``fusion_changes`` are fields set for
    # this request on top of it (flags, the proxy's body); ``plan_search`` folds both into ``fusion``.
    fusion: FusionConfig | None = None
    fusion_changes: FusionChanges = ()
    facets: tuple[str, ...] = ()  # metadata fields to count over the ranked list (``hybrid.retrieval.facets``)
    highlight: bool = False  # the query's words marked in title and snippet (``hybrid.retrieval.highlight``)
    ef_search: int | None = None  # the dense side's HNSW candidate list (None: the engine's default)
    rerank: int = int(params.RERANK.default)  # top hits a cross-encoder rescores (``hybrid.rerank``); 0: none

    def resolved(self, default_fusion: Mapping[str, object] | None) -> SearchRequest:
        """This request with its fusion settled against the index's default."""
        fusion = settle_fusion(self.fusion, self.fusion_changes, default_fusion)
        return dataclasses.replace(self, fusion=fusion, fusion_changes=())

    @property
    def settled_fusion(self) -> FusionConfig:
        if self.fusion is None or self.fusion_changes:
            raise RuntimeError("the request's fusion is not resolved against its index (plan_search does that)")
        return self.fusion

    @property
    def page_end(self) -> int:
        return self.offset + self.k

    def list_capacity(self) -> int:
        """The most hits the mode's ranked list can hold: one window, or both for hybrid."""
        fusion = self.settled_fusion
        return {"bm25": fusion.bm25_window, "dense": fusion.dense_window,
                "hybrid": fusion.bm25_window + fusion.dense_window}[self.mode]

    def validate(self, filterable: MetadataFields) -> None:
        """Raise ``BadRequestError`` naming the first thing wrong, against the index's filterable fields."""
        if not self.query or not self.query.strip():
            raise BadRequestError("the query is empty")
        if len(self.query) > params.MAX_QUERY_CHARS:
            raise BadRequestError(f"the query has {len(self.query)} characters; the limit is {params.MAX_QUERY_CHARS}")
        if self.mode not in MODES:
            raise BadRequestError(f"mode {self.mode!r}: choose one of {', '.join(MODES)}")
        if not params.K.contains(self.k):
            raise BadRequestError(f"k={self.k} is out of range {params.K.range}")
        if not params.OFFSET.contains(self.offset):
            raise BadRequestError(f"from={self.offset} is out of range {params.OFFSET.range}")
        if self.ef_search is not None and not params.EF_SEARCH.contains(self.ef_search):
            raise BadRequestError(f"ef_search={self.ef_search} is out of range {params.EF_SEARCH.range}")
        if not params.RERANK.contains(self.rerank):
            raise BadRequestError(f"rerank={self.rerank} is out of range {params.RERANK.range}")
        problems = self.settled_fusion.problems()
        if problems:
            raise BadRequestError("; ".join(problems))
        self._check_page()
        _check_filters(self.filters, filterable)
        _check_facets(self.facets, filterable)

    def _check_page(self) -> None:
        capacity = self.list_capacity()
        if self.page_end <= capacity:
            return
        end = self.page_end
        if self.mode == "hybrid":
            sides = f"bm25 window {self.settled_fusion.bm25_window} + dense window {self.settled_fusion.dense_window}"
            fix = f"raise the windows to a total of at least {end} (e.g. window {math.ceil(end / 2)} for both sides)"
        else:
            sides = f"the {self.mode} window"
            fix = f"raise the {self.mode} window to at least {end}"
        raise BadRequestError(
            f"from + k = {end} is past the end of the ranked list, which holds at most {capacity} hits "
            f"({sides}); {fix}"
        )


def _check_filters(filters: Sequence[Filter], filterable: MetadataFields) -> None:
    if len(filters) > params.MAX_FILTERS:
        raise BadRequestError(f"{len(filters)} filters; the limit is {params.MAX_FILTERS}")
    for f in filters:
        kind = filterable.get(f.field)
        if kind is None:
            names = ", ".join(sorted(filterable)) or "none (the index has no metadata fields)"
            raise BadRequestError(f"unknown filter field {f.field!r}; filterable fields: {names}")
        if isinstance(f, RangeFilter) and kind != "integer":
            raise BadRequestError(f"range filter on {f.field!r}, a {kind} field; ranges need an integer field")
        if isinstance(f, TermFilter) and kind == "integer" and not all(isinstance(v, int) for v in f.values):
            raise BadRequestError(f"filter {f.field!r} is an integer field; got {list(f.values)}")


def _check_facets(facets: Sequence[str], filterable: MetadataFields) -> None:
    if len(facets) > MAX_FACETS:
        raise BadRequestError(f"{len(facets)} facets; the limit is {MAX_FACETS}")
    if len(set(facets)) != len(facets):
        raise BadRequestError(f"facets {list(facets)} name a field twice")
    for name in facets:
        if name not in filterable:
            names = ", ".join(sorted(filterable)) or "none (the index has no metadata fields)"
            raise BadRequestError(f"unknown facet field {name!r}; facet fields: {names}")


_FILTER = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|=|:)\s*(.+?)\s*$")


def parse_filter(text: str, filterable: Mapping[str, str] | None = None) -> Filter:
    """``year>=2015``, ``year<=2020``, ``year=2018``, ``journal=Lancet``, ``mesh=Aged|Humans`` (any of).

    Values of integer fields (per ``filterable``) are converted; ``a|b`` means either value.
    """
    match = _FILTER.match(text)
    if not match:
        raise BadRequestError(f"filter {text!r}: use FIELD=VALUE, FIELD=A|B, FIELD>=N or FIELD<=N")
    name, op, raw = match.groups()
    raw = raw.strip()
    integer = filterable is not None and filterable.get(name) == "integer"
    if op in (">=", "<="):
        try:
            bound = int(raw.strip("\"'"))
        except ValueError:
            raise BadRequestError(f"filter {text!r}: a range needs an integer bound") from None
        return RangeFilter(name, gte=bound) if op == ">=" else RangeFilter(name, lte=bound)
    values: list[str | int] = [v.strip().strip("\"'") for v in raw.split("|") if v.strip().strip("\"'")]
    if integer:
        try:
            values = [int(v) for v in values]
        except ValueError:
            raise BadRequestError(f"filter {text!r}: {name} is an integer field") from None
    return TermFilter(name, tuple(values))


def merge_ranges(filters: Sequence[Filter]) -> tuple[Filter, ...]:
    """``year>=2015`` and ``year<=2020`` given separately become one range."""
    merged: dict[str, RangeFilter] = {}
    out: list[Filter] = []
    for f in filters:
        if isinstance(f, RangeFilter):
            prev = merged.get(f.field, RangeFilter(f.field))
            merged[f.field] = RangeFilter(f.field, f.gte if f.gte is not None else prev.gte,
                                          f.lte if f.lte is not None else prev.lte)
        else:
            out.append(f)
    return (*out, *merged.values())
