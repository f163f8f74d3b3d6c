"""What flows from sources to indices: raw records, validated documents, and rejects (with reasons)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Metadata = dict[str, "str | int | list[str]"]
MetadataType = Literal["keyword", "integer"]
# name -> index type of the filterable metadata fields of an index
MetadataFields = dict[str, MetadataType]


@dataclass(frozen=True)
class RawRecord:
    """One record as a source read it. ``error`` is set when it could not even be parsed."""

    position: str  # where it came from, e.g. "corpus.jsonl:17" or "pubmed23n0001.xml.gz:PubmedArticle 4"
    fields: dict[str, object] | None
    error: str | None = None
    excerpt: str | None = None  # the start of the unparsable input, for the rejects file


@dataclass(frozen=True)
class Document:
    """A validated document: what gets encoded and indexed."""

    id: str
    title: str
    text: str
    metadata: Metadata = field(default_factory=dict)
    position: str = ""


@dataclass(frozen=True)
class Reject:
    position: str
    reason: str
    id: str | None = None
    excerpt: str | None = None
