from __future__ import annotations

import json
from pathlib import Path

from hybrid.documents import Document, Reject
from hybrid.ingest.sources import FieldOverrides, open_source, parse_metadata
from hybrid.ingest.validate import Validator
from tests.unit.ingest.bad_records import EXPECTED_REJECTS, GOOD_IDS, write_bad_source


def test_every_bad_kind_gets_its_reason(tmp_path: Path) -> None:
    source = open_source(write_bad_source(tmp_path), "jsonl", FieldOverrides(metadata=(("year", "integer"),)))
    validate = Validator(source.fields)
    results = [validate(r) for r in source.records]
    docs = [r for r in results if isinstance(r, Document)]
    rejects = [r for r in results if isinstance(r, Reject)]
    assert [d.id for d in docs] == GOOD_IDS
    assert docs[0].metadata == {"year": 2019} and docs[2].metadata == {"year": 2020}
    assert [(r.position, r.id) for r in rejects] == [(f"mixed.jsonl:{n}", i) for n, _, i in EXPECTED_REJECTS]
    for reject, (_, reason, _) in zip(rejects, EXPECTED_REJECTS):
        assert reject.reason.startswith(reason), reject


def test_csv_with_field_mapping(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_bytes(
        b"pmid,headline,body,journal\n"
        b"1,First,\"Body, with a comma\",Lancet\n"
        b"2,Second,caf\xe9,BMJ\n"
        b"3,Third,,NEJM\n"
    )
    fields = FieldOverrides(id="pmid", title="headline", text="body", metadata=(("journal", "keyword"),))
    source = open_source(path, "auto", fields)
    validate = Validator(source.fields)
    results = [validate(r) for r in source.records]
    assert isinstance(results[0], Document) and results[0].text == "Body, with a comma"
    assert results[0].metadata == {"journal": "Lancet"}
    assert isinstance(results[1], Reject) and results[1].reason == "not UTF-8"
    assert isinstance(results[2], Reject) and results[2].reason == "empty text"


def test_integer_metadata_must_parse(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "t", "year": "recent"}) + "\n")
    source = open_source(path, "jsonl", FieldOverrides(metadata=parse_metadata(["year:int"])))
    result = Validator(source.fields)(next(source.records))
    assert isinstance(result, Reject) and "'year' = 'recent' is not an integer" in result.reason
