"""PubMed/MEDLINE baseline XML (``.xml`` or ``.xml.gz``), streamed one ``PubmedArticle`` at a time.

Fields: PMID, title, abstract (sections joined as ``LABEL: text``), journal, publication year,
MeSH descriptor names, publication types. ``DeleteCitation`` blocks of update files are skipped.
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from hybrid.documents import RawRecord

PUBMED_METADATA = ("journal", "year", "mesh", "publication_types")
_YEAR = re.compile(r"(1[89]\d\d|20\d\d)")


def _text(elem: ET.Element | None) -> str:
    """All text inside an element, inline markup (<i>, <sup> …) included, whitespace collapsed."""
    return " ".join("".join(elem.itertext()).split()) if elem is not None else ""


def _year(article: ET.Element) -> int | None:
    for path in ("Journal/JournalIssue/PubDate/Year", "Journal/JournalIssue/PubDate/MedlineDate", "ArticleDate/Year"):
        match = _YEAR.search(_text(article.find(path)))
        if match:
            return int(match.group(1))
    return None


def _abstract(article: ET.Element) -> str:
    parts = []
    for section in article.findall("Abstract/AbstractText"):
        body = _text(section)
        label = section.get("Label")
        if body:
            parts.append(f"{label}: {body}" if label else body)
    return "\n".join(parts)


def parse_article(elem: ET.Element) -> dict[str, object]:
    citation = elem.find("MedlineCitation")
    if citation is None:
        raise ValueError("PubmedArticle without MedlineCitation")
    article = citation.find("Article")
    if article is None:
        raise ValueError("MedlineCitation without Article")
    record: dict[str, object] = {
        "id": _text(citation.find("PMID")),
        "title": _text(article.find("ArticleTitle")),
        "text": _abstract(article),
        "journal": _text(article.find("Journal/Title")),
        "mesh": [_text(d) for d in citation.findall("MeshHeadingList/MeshHeading/DescriptorName")],
        "publication_types": [_text(p) for p in article.findall("PublicationTypeList/PublicationType")],
    }
    year = _year(article)
    if year is not None:
        record["year"] = year
    return record


def read_pubmed(path: Path) -> Iterator[RawRecord]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        count = 0
        root: ET.Element | None = None
        try:
            for event, elem in ET.iterparse(fh, events=("start", "end")):
                if root is None:
                    root = elem
                if event == "start":
                    continue
                if elem.tag != "PubmedArticle":
                    if elem.tag == "DeleteCitation":
                        elem.clear()
                    continue
                count += 1
                position = f"{path.name}:PubmedArticle {count}"
                try:
                    yield RawRecord(position, parse_article(elem))
                except ValueError as exc:
                    yield RawRecord(position, None, str(exc))
                root.clear()  # constant memory: drop articles already read
        except ET.ParseError as exc:
            yield RawRecord(f"{path.name}:line {exc.position[0]}", None, f"invalid XML ({exc}); rest of file skipped")
