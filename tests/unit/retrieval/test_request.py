from __future__ import annotations

import pytest

from hybrid.retrieval import (
    BadRequestError,
    FusionConfig,
    RangeFilter,
    SearchRequest,
    TermFilter,
    merge_ranges,
    params,
    parse_filter,
)

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
        (SearchRequest("q", ef_search=0), "ef_search=0 is out of range 1..10000"),
        (SearchRequest("q", filters=(TermFilter("author", ("x",)),)), "unknown filter field 'author'; filterable fields: journal, mesh, year"),
        (SearchRequest("q", filters=(RangeFilter("journal", 1),)), "ranges need an integer field"),
        (SearchRequest("q", mode="sparse"), "mode 'sparse'"),  # type: ignore[arg-type]
        (SearchRequest("x" * 5000), "the limit is 4096"),
    ],
)
def test_bad_requests(request_: SearchRequest, message: str) -> None:
    with pytest.raises(BadRequestError, match=message.replace("(", r"\(").replace(".", r"\.")):
        request_.resolved(None).validate(FIELDS)


@pytest.mark.parametrize(
    ("mode", "windows", "offset", "k", "capacity"),
    [
        ("bm25", (100, 100), 90, 10, 100),
        ("dense", (50, 30), 20, 10, 30),
        ("hybrid", (100, 100), 190, 10, 200),
        ("hybrid", (300, 20), 310, 10, 320),
    ],
)
def test_a_page_must_end_within_the_windows(mode, windows, offset, k, capacity) -> None:  # type: ignore[no-untyped-def]
    fusion = FusionConfig(bm25_window=windows[0], dense_window=windows[1])
    fits = SearchRequest("q", mode=mode, k=k, offset=offset, fusion=fusion).resolved(None)
    assert fits.list_capacity() == capacity
    fits.validate(FIELDS)  # ends exactly at the capacity: allowed
    past = SearchRequest("q", mode=mode, k=k, offset=offset + 1, fusion=fusion).resolved(None)
    with pytest.raises(BadRequestError, match=f"from \\+ k = {offset + k + 1} is past the end .* at most {capacity} hits"):
        past.validate(FIELDS)


def test_the_error_names_the_window_to_raise() -> None:
    with pytest.raises(BadRequestError, match="raise the bm25 window to at least 120"):
        SearchRequest("q", mode="bm25", k=20, offset=100).resolved(None).validate(FIELDS)
    with pytest.raises(BadRequestError, match=r"total of at least 205 \(e.g. window 103 for both sides\)"):
        SearchRequest("q", k=10, offset=195).resolved(None).validate(FIELDS)


@pytest.mark.parametrize(
    ("fusion", "message"),
    [
        (FusionConfig(bm25_window=0), "bm25 window 0 is out of range 1..10000"),
        (FusionConfig(dense_window=10_001), "dense window 10001 is out of range 1..10000"),
        (FusionConfig(rank_constant=-1), "rank constant -1 is out of range 0..10000"),
        (FusionConfig(dense_weight=101), "dense weight 101 is out of range 0..100"),
        (FusionConfig(method="borda"), "fusion method 'borda'"),  # type: ignore[arg-type]
    ],
)
def test_fusion_limits_come_from_params(fusion: FusionConfig, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        SearchRequest("q", fusion=fusion).resolved(None).validate(FIELDS)


def test_defaults_are_the_params() -> None:
    request = SearchRequest("q").resolved(None)  # an index with no stored default fusion
    assert (request.k, request.offset) == (params.K.default, params.OFFSET.default)
    assert request.fusion.bm25_window == request.fusion.dense_window == params.WINDOW.default
    assert request.fusion.rank_constant == params.RANK_CONSTANT.default


def test_fusion_is_the_index_default_with_the_requests_changes() -> None:
    stored = {"config": FusionConfig("dbsf", 60, 50, 80, 1.0, 0.5).to_record(), "chosen_by": "hybrid tune"}
    assert SearchRequest("q").resolved(stored).fusion == FusionConfig("dbsf", 60, 50, 80, 1.0, 0.5)
    changed = SearchRequest("q", fusion_changes=(("method", "rrf"), ("dense_window", 20))).resolved(stored)
    assert changed.fusion == FusionConfig("rrf", 60, 50, 20, 1.0, 0.5) and changed.fusion_changes == ()
    explicit = FusionConfig(bm25_window=10)  # a whole config given replaces the default
    assert SearchRequest("q", fusion=explicit).resolved(stored).fusion == explicit
    with pytest.raises(RuntimeError, match="not resolved"):
        SearchRequest("q").validate(FIELDS)
    with pytest.raises(ValueError, match="bm25 window 0"):
        SearchRequest("q").resolved({"config": {**FusionConfig().to_record(), "bm25_window": 0}})
    with pytest.raises(ValueError, match="unexpected keyword"):
        SearchRequest("q").resolved({"config": {"speed": 3}})
