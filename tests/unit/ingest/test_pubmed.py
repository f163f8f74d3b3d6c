from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from hybrid.documents import Document, Reject
from hybrid.ingest.sources import FieldMap, open_source
from hybrid.ingest.validate import Validator

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "pubmed_sample.xml"


def _docs(path: Path) -> list[Document | Reject]:
    source = open_source(path)
    validate = Validator(source.fields)
    return [validate(r) for r in source.records]


@pytest.mark.parametrize("compressed", [False, True])
def test_all_fields_parsed(tmp_path: Path, compressed: bool) -> None:
    path = SAMPLE
    if compressed:
        path = tmp_path / "pubmed.xml.gz"
        with SAMPLE.open("rb") as src, gzip.open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    first, second, third = _docs(path)
    assert isinstance(first, Document)
    assert first.id == "31452104"
    assert first.title == "Statin therapy lowers LDL cholesterol in older adults."
    assert first.text == "BACKGROUND: Statins are widely prescribed.\nRESULTS: LDL fell by 38% (p<0.001) over 12 months."
    assert first.metadata == {
        "journal": "Journal of Lipid Research",
        "year": 2019,
        "mesh": ["Aged", "Cholesterol, LDL"],
        "publication_types": ["Randomized Controlled Trial", "Journal Article"],
    }
    assert first.position.endswith(":PubmedArticle 1")
    assert isinstance(second, Document) and second.metadata["year"] == 2016  # from MedlineDate
    assert second.text == "We sequenced BRCA1 in 400 women."
    # No abstract (letters, editorials, many older citations): still a document, found by its title.
    assert isinstance(third, Document) and third.id == "28000002"
    assert (third.title, third.text) == ("A letter without an abstract.", "")


def test_pubmed_field_map() -> None:
    assert dict(FieldMap.pubmed().metadata) == {
        "journal": "keyword", "year": "integer", "mesh": "keyword", "publication_types": "keyword"}


def test_broken_xml_is_a_reject_not_a_crash(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    text = SAMPLE.read_text()
    cut = text.index("</PubmedArticle>") + len("</PubmedArticle>")
    broken.write_text(text[:cut] + "<PubmedArticle><Medline")
    results = _docs(broken)
    assert isinstance(results[0], Document)
    assert isinstance(results[-1], Reject) and "invalid XML" in results[-1].reason
