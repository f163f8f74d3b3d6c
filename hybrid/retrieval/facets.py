"""Facets: counts of metadata values over the documents of a query's ranked list (its candidates: the
list every page is cut from), so the counts describe exactly the results a user pages through, in every
mode and on both backends.

Integer fields (year) count every value, ascending; keyword fields (journal, MeSH terms; a document
with several values counts once for each) keep the ``size`` most frequent values, ties by value.
OpenSearch computes them as aggregations over the candidates' ids, in the same ``_msearch`` that fetches
the page's documents; the embedded backend counts them from its stored metadata with ``count_facets``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FACET_SIZE = 20  # values kept per keyword facet
MAX_FACETS = 8

FacetValue = str | int
FacetCounts = dict[str, list[tuple[FacetValue, int]]]  # field -> [(value, documents)], in display order


@dataclass(frozen=True)
class FacetQuery:
    """Which fields to count (with their kind, ``integer`` or ``keyword``) over which documents."""

    fields: tuple[tuple[str, str], ...]
    candidates: tuple[str, ...]
    size: int = FACET_SIZE


def _values(value: object) -> set[object]:
    if value is None:
        return set()
    return set(value) if isinstance(value, (list, tuple)) else {value}


def count_facets(metadata: Iterable[Mapping[str, object]], query: FacetQuery) -> FacetCounts:
    """The facets of ``query`` from each candidate document's metadata (the definition both backends meet)."""
    counters: dict[str, Counter[object]] = {field: Counter() for field, _ in query.fields}
    for meta in metadata:
        for field, counter in counters.items():
            counter.update(_values(meta.get(field)))
    return {field: ordered(counters[field].items(), kind, query.size) for field, kind in query.fields}


def ordered(counts: Iterable[tuple[object, int]], kind: str, size: int) -> list[tuple[FacetValue, int]]:
    """Integer facets by value; keyword facets the ``size`` largest counts, ties by value."""
    if kind == "integer":
        return sorted(((int(v), n) for v, n in counts if n > 0), key=lambda item: item[0])  # type: ignore[call-overload]
    return sorted(((str(v), n) for v, n in counts if n > 0), key=lambda item: (-item[1], item[0]))[:size]
