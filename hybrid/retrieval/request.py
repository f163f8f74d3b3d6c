"""What a search asks for, validated before anything runs: mode, k, page, filters, fusion settings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hybrid.documents import MetadataFields
from hybrid.retrieval.fusion import DEFAULT_RANK_CONSTANT, FusionMethod

Mode = Literal["bm25", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")
MAX_K = 1000
MAX_QUERY_CHARS = 4096


class BadRequestError(ValueError):
    """The request itself is wrong (empty query, k out of range, unknown filter field …)."""


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
    method: FusionMethod = "rrf"
    rank_constant: float = DEFAULT_RANK_CONSTANT
    window: int = 100  # top hits taken from each side
    bm25_weight: float = 1.0
    dense_weight: float = 1.0


@dataclass(frozen=True)
class SearchRequest:
    query: str
    mode: Mode = "hybrid"
    k: int = 10
    offset: int = 0  # "from"
    filters: tuple[Filter, ...] = ()
    instruction: str | None = None
    explain: bool = False
    fusion: FusionConfig = field(default_factory=FusionConfig)

    def validate(self, filterable: MetadataFields) -> None:
        if not self.query or not self.query.strip():
            raise BadRequestError("the query is empty")
        if len(self.query) > MAX_QUERY_CHARS:
            raise BadRequestError(f"the query has {len(self.query)} characters; the limit is {MAX_QUERY_CHARS}")
        if self.mode not in MODES:
            raise BadRequestError(f"mode {self.mode!r}: choose one of {', '.join(MODES)}")
        if not 1 <= self.k <= MAX_K:
            raise BadRequestError(f"k={self.k} is out of range 1..{MAX_K}")
        if not 0 <= self.offset <= 10_000 - self.k:
            raise BadRequestError(f"from={self.offset} is out of range 0..{10_000 - self.k}")
        for f in self.filters:
            kind = filterable.get(f.field)
            if kind is None:
                names = ", ".join(sorted(filterable)) or "none (the index has no metadata fields)"
                raise BadRequestError(f"unknown filter field {f.field!r}; filterable fields: {names}")
            if isinstance(f, RangeFilter) and kind != "integer":
                raise BadRequestError(f"range filter on {f.field!r}, a {kind} field; ranges need an integer field")
            if isinstance(f, TermFilter) and kind == "integer" and not all(isinstance(v, int) for v in f.values):
                raise BadRequestError(f"filter {f.field!r} is an integer field; got {list(f.values)}")
        fusion = self.fusion
        if fusion.window < 1 or fusion.rank_constant < 0 or min(fusion.bm25_weight, fusion.dense_weight) < 0:
            raise BadRequestError("fusion: window >= 1, rank constant >= 0 and weights >= 0")

    @property
    def depth(self) -> int:
        """Hits needed from each side: the fusion window, and never fewer than the page end."""
        return max(self.fusion.window, self.offset + self.k) if self.mode == "hybrid" else self.offset + self.k


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
