from __future__ import annotations

import pytest

from hybrid.retrieval import BadRequestError, RangeFilter, SearchRequest, TermFilter, merge_ranges, parse_filter

FIELDS = {"year": "integer", "journal": "keyword", "mesh": "keyword"}


def test_parse_filters() -> None:
    assert parse_filter("year>=2015", FIELDS) == RangeFilter("year", gte=2015)
    assert parse_filter("year=2018", FIELDS) == TermFilter("year", (2018,))
    assert parse_filter('mesh="Cholesterol, LDL"|Aged', FIELDS) == TermFilter("mesh", ("Cholesterol, LDL", "Aged"))
    assert merge_ranges([RangeFilter("year", gte=2015), RangeFilter("year", lte=2020)]) == (
        RangeFilter("year", 2015, 2020),)
    with pytest.raises(BadRequestError, match="integer field"):
        parse_filter("year=recent", FIELDS)
    with pytest.raises(BadRequestError, match="use FIELD=VALUE"):
        parse_filter("year", FIELDS)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest(""), "the query is empty"),
        (SearchRequest("   "), "the query is empty"),
        (SearchRequest("q", k=0), "k=0 is out of range 1..1000"),
        (SearchRequest("q", k=1001), "k=1001 is out of range 1..1000"),
        (SearchRequest("q", filters=(TermFilter("author", ("x",)),)), "unknown filter field 'author'; filterable fields: journal, mesh, year"),
        (SearchRequest("q", filters=(RangeFilter("journal", 1),)), "ranges need an integer field"),
        (SearchRequest("q", mode="sparse"), "mode 'sparse'"),  # type: ignore[arg-type]
        (SearchRequest("x" * 5000), "the limit is 4096"),
    ],
)
def test_bad_requests(request_: SearchRequest, message: str) -> None:
    with pytest.raises(BadRequestError, match=message.replace("(", r"\(").replace(".", r"\.")):
        request_.validate(FIELDS)


def test_depth_covers_the_page() -> None:
    assert SearchRequest("q", k=10, offset=200).depth == 210
    assert SearchRequest("q", k=10).depth == 100  # the fusion window
    assert SearchRequest("q", mode="bm25", k=10, offset=20).depth == 30
