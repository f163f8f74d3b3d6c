from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from hybrid.documents import Document, Reject
from hybrid.ingest.sources import FieldOverrides, SourceEncodingError, open_source, parse_metadata
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
    assert isinstance(results[2], Document) and (results[2].title, results[2].text) == ("Third", "")  # title only


def test_integer_metadata_must_parse(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "t", "year": "recent"}) + "\n")
    source = open_source(path, "jsonl", FieldOverrides(metadata=parse_metadata(["year:int"])))
    result = Validator(source.fields)(next(source.records))
    assert isinstance(result, Reject) and "'year' = 'recent' is not an integer" in result.reason


def test_a_byte_order_mark_is_not_part_of_the_first_record_or_column(tmp_path: Path) -> None:
    """Windows tools write UTF-8 with a BOM: the first JSONL record and the CSV's first column name survive it."""
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": "first"}).encode() + b"\n")
    csv_file = tmp_path / "d.csv"
    csv_file.write_bytes(b"\xef\xbb\xbfid,title,text\r\nb,T,second\r\n")
    for path, expected in ((jsonl, ("a", "first")), (csv_file, ("b", "second"))):
        source = open_source(path)
        results = [Validator(source.fields)(raw) for raw in source.records]
        assert [(r.id, r.text) for r in results if isinstance(r, Document)] == [expected], path.name


def test_a_utf16_file_is_refused_whole_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("id,text\r\na,caf\u00e9\r\n".encode("utf-16"))  # Python writes the BOM first
    with pytest.raises(SourceEncodingError, match=r"export\.csv is UTF-16 .* iconv -f UTF-16 -t UTF-8"):
        open_source(path)
    gz = tmp_path / "corpus.jsonl.gz"
    gz.write_bytes(gzip.compress('{"id": "a", "text": "t"}\n'.encode("utf-32")))
    with pytest.raises(SourceEncodingError, match="is UTF-32"):
        open_source(gz)
