"""JSONL (BEIR's corpus.jsonl included) and CSV/TSV readers with configurable field names."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from hybrid.documents import MetadataType, RawRecord


@dataclass(frozen=True)
class FieldMap:
    """Which source fields hold the id, title and text; which others become filterable metadata.

    ``metadata`` pairs a field name with its index type: ``keyword`` (exact strings, or lists of
    them, e.g. MeSH terms) or ``integer`` (e.g. publication year, for ranges).
    """

    id: str = "id"
    title: str = "title"
    text: str = "text"
    metadata: tuple[tuple[str, MetadataType], ...] = field(default_factory=tuple)

    @classmethod
    def beir(cls) -> FieldMap:
        return cls(id="_id", title="title", text="text")

    @classmethod
    def pubmed(cls) -> FieldMap:
        return cls(metadata=(("journal", "keyword"), ("year", "integer"), ("mesh", "keyword"),
                             ("publication_types", "keyword")))


def parse_metadata(specs: list[str]) -> tuple[tuple[str, MetadataType], ...]:
    """``["journal", "year:int"]`` → ``(("journal", "keyword"), ("year", "integer"))``."""
    out: list[tuple[str, MetadataType]] = []
    for spec in specs:
        name, _, kind = spec.partition(":")
        if not name or kind not in ("", "keyword", "int", "integer"):
            raise ValueError(f"metadata field {spec!r}: use NAME, NAME:keyword or NAME:int")
        out.append((name, "integer" if kind in ("int", "integer") else "keyword"))
    return tuple(out)


@dataclass(frozen=True)
class FieldOverrides:
    """What the user changed about a format's field map (``--id-field``, ``--metadata`` …): given
    names replace the format's own, metadata fields are added to (or re-typed in) the format's."""

    id: str | None = None
    title: str | None = None
    text: str | None = None
    metadata: tuple[tuple[str, MetadataType], ...] = ()

    def apply(self, base: FieldMap) -> FieldMap:
        metadata = dict(base.metadata)
        metadata.update(self.metadata)
        return FieldMap(self.id or base.id, self.title or base.title, self.text or base.text, tuple(metadata.items()))


UTF8_BOM = b"\xef\xbb\xbf"
# Byte-order marks of encodings other than UTF-8 (UTF-32's before UTF-16's: they share a prefix).
_OTHER_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
               (b"\xfe\xff", "UTF-16"))


class SourceEncodingError(ValueError):
    """A whole file in an encoding other than UTF-8: refused at once rather than rejected line by line."""


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def check_encoding(path: Path) -> None:
    """Refuse a file that starts with a UTF-16 or UTF-32 byte-order mark (a spreadsheet's "Unicode text"
    export): every line of it would be rejected as not UTF-8."""
    with _open_binary(path) as fh:
        head = fh.read(4)
    for bom, encoding in _OTHER_BOMS:
        if head.startswith(bom):
            raise SourceEncodingError(f"{path} is {encoding} (it starts with a {encoding} byte-order mark); "
                                      f"convert it to UTF-8 first, e.g. iconv -f {encoding} -t UTF-8")


def _excerpt(raw: bytes) -> str:
    return raw[:200].decode("utf-8", errors="backslashreplace").rstrip("\n")


def read_jsonl(path: Path) -> Iterator[RawRecord]:
    """One record per line; a line that is not UTF-8 or not a JSON object is a parse error, not a crash.

    Records keep their source field names; the FieldMap is applied by validation."""
    with _open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            position = f"{path.name}:{number}"
            if number == 1:
                raw = raw.removeprefix(UTF8_BOM)  # a byte-order mark is not part of the first record
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawRecord(position, None, f"not UTF-8 ({exc.reason} at byte {exc.start})", _excerpt(raw))
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawRecord(position, None, f"invalid JSON ({exc.msg} at column {exc.colno})", _excerpt(raw))
                continue
            if not isinstance(value, dict):
                yield RawRecord(position, None, f"a JSON {type(value).__name__}, not an object", _excerpt(raw))
                continue
            yield RawRecord(position, value)


def _has_undecodable(row: dict[str, str | None]) -> bool:
    # surrogateescape maps each byte that is not UTF-8 to a lone surrogate U+DC80..U+DCFF.
    return any(v is not None and any("\udc80" <= ch <= "\udcff" for ch in v) for v in row.values())


def read_csv(path: Path) -> Iterator[RawRecord]:
    """CSV (TSV by extension) with a header row; a row with bytes that are not UTF-8 is a parse error."""
    delimiter = "\t" if ".tsv" in path.name else ","
    with _open_binary(path) as binary:
        # utf-8-sig: a byte-order mark would otherwise become part of the first column's name
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.DictReader(text, delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRecord(f"{path.name}:{reader.line_num}", None, f"invalid CSV ({exc})")
                continue
            position = f"{path.name}:{reader.line_num}"
            if _has_undecodable(row):
                yield RawRecord(position, None, "not UTF-8")
                continue
            yield RawRecord(position, dict(row))
