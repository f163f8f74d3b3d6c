"""Streaming readers: each yields RawRecords with their source position, in constant memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hybrid.documents import RawRecord
from hybrid.ingest.sources.delimited import (
    FieldMap,
    FieldOverrides,
    SourceEncodingError,
    check_encoding,
    parse_metadata,
    read_csv,
    read_jsonl,
)
from hybrid.ingest.sources.pubmed import read_pubmed

SourceFormat = Literal["auto", "beir", "jsonl", "csv", "pubmed"]

__all__ = ["FieldMap", "FieldOverrides", "Source", "SourceEncodingError", "SourceFormat", "detect_format", "open_source",
           "parse_metadata"]


def detect_format(path: Path) -> SourceFormat:
    name = path.name.lower()
    if name.endswith((".xml", ".xml.gz")):
        return "pubmed"
    if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
        return "csv"
    if name == "corpus.jsonl" or (path.is_dir() and (path / "corpus.jsonl").is_file()):
        return "beir"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {path}; pass --format beir|jsonl|csv|pubmed")


@dataclass(frozen=True)
class Source:
    """An opened source: its records (a one-shot iterator) and the field map that validates them."""

    records: Iterator[RawRecord]
    fields: FieldMap
    format: SourceFormat


def open_source(path: Path, fmt: SourceFormat = "auto", overrides: FieldOverrides = FieldOverrides()) -> Source:
    """Records of ``path``: a file, a BEIR folder, or a folder of PubMed XML files. The format's own
    field map (BEIR: ``_id``; PubMed: journal, year, MeSH …) is adjusted by ``overrides``."""
    if not path.exists():
        raise FileNotFoundError(f"source {path} does not exist")
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "beir":
        corpus = path / "corpus.jsonl" if path.is_dir() else path
        check_encoding(corpus)
        return Source(read_jsonl(corpus), overrides.apply(FieldMap.beir()), fmt)
    if fmt in ("jsonl", "csv"):
        if path.is_dir():
            raise ValueError(f"{path} is a folder; --format {fmt} reads one file")
        check_encoding(path)
        reader = read_jsonl if fmt == "jsonl" else read_csv
        return Source(reader(path), overrides.apply(FieldMap()), fmt)
    if fmt == "pubmed":
        files = sorted(p for p in path.iterdir() if p.name.endswith((".xml", ".xml.gz"))) if path.is_dir() else [path]
        records = (record for f in files for record in read_pubmed(f))
        return Source(records, overrides.apply(FieldMap.pubmed()), fmt)
    raise ValueError(f"unknown format {fmt!r}; choose auto, beir, jsonl, csv or pubmed")
