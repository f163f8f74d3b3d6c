"""Facets by their definition: per field, how many documents of the ranked list carry each value."""

from __future__ import annotations

import pytest

from hybrid.retrieval import BadRequestError, FusionConfig, SearchRequest
from hybrid.retrieval.facets import FacetQuery, count_facets

DOCS = [
    {"year": 2019, "journal": "Lancet", "mesh": ["Aged", "Humans"]},
    {"year": 2017, "journal": "BMJ", "mesh": ["Humans", "Humans"]},  # a repeated value counts once
    {"year": 2019, "journal": "BMJ"},
    {"journal": "Cell", "mesh": []},
]


def test_counts_by_definition() -> None:
    query = FacetQuery((("year", "integer"), ("journal", "keyword"), ("mesh", "keyword")), ("a", "b", "c", "d"))
    assert count_facets(DOCS, query) == {
        "year": [(2017, 1), (2019, 2)],  # by value
        "journal": [("BMJ", 2), ("Cell", 1), ("Lancet", 1)],  # by count, ties by value
        "mesh": [("Humans", 2), ("Aged", 1)],
    }


def test_keyword_facets_keep_the_most_frequent() -> None:
    query = FacetQuery((("journal", "keyword"),), ("a", "b", "c", "d"), size=2)
    assert count_facets(DOCS, query) == {"journal": [("BMJ", 2), ("Cell", 1)]}
    assert count_facets([], query) == {"journal": []}


@pytest.mark.parametrize(("facets", "message"), [
    (("year", "issn"), "unknown facet field 'issn'; facet fields: journal, year"),
    (("year", "year"), "name a field twice"),
    (tuple(f"f{i}" for i in range(9)), "9 facets; the limit is 8"),
])
def test_facet_fields_are_checked_against_the_index(facets: tuple[str, ...], message: str) -> None:
    request = SearchRequest("statins", fusion=FusionConfig(), facets=facets)
    with pytest.raises(BadRequestError, match=message):
        request.validate({"year": "integer", "journal": "keyword"})


def test_cli_prints_facets_and_json_carries_them(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from hybrid.backends.embedded.target import EmbeddedTarget
    from hybrid.cli import main
    from hybrid.encoders import load_encoder
    from tests.integration.helpers import ingest_sample
    from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

    tiny = load_encoder(str(save_tiny_gpt_neox(tmp_path / "m")), device="cpu", precision="fp32", max_length=32)
    target = EmbeddedTarget(tmp_path / "idx")
    ingest_sample(target, "meta", tiny, tmp_path, limit=120)
    target.close()
    flags = ["--index", "meta", "--embedded", "--embedded-dir", str(tmp_path / "idx"), "--mode", "bm25"]
    assert main(["search", "cancer cells", *flags, "--facets", "year,journal", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert main(["search", "cancer cells", *flags, "--k", str(out["candidates"]), "--json"]) == 0
    whole = json.loads(capsys.readouterr().out)["hits"]
    journals: dict[str, int] = {}
    for hit in whole:
        journals[hit["metadata"]["journal"]] = journals.get(hit["metadata"]["journal"], 0) + 1
    assert out["facets"]["journal"] == [{"value": v, "count": n}
                                        for v, n in sorted(journals.items(), key=lambda item: (-item[1], item[0]))]
    assert sum(b["count"] for b in out["facets"]["year"]) == out["candidates"] == len(whole)
    assert main(["search", "cancer cells", *flags, "--facets", "year"]) == 0
    table = capsys.readouterr().out
    assert f"facets over the {out['candidates']} ranked documents:" in table
    assert "  year: " + " · ".join(f"{b['value']} ({b['count']})" for b in out["facets"]["year"]) in table
