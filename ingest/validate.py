"""Validation: a RawRecord becomes a Document, or a Reject with its reason and source position."""

from __future__ import annotations

import json

from hybrid.documents import Document, Metadata, RawRecord, Reject
from hybrid.ingest.seen import SeenIds
from hybrid.ingest.sources import FieldMap

EXCERPT_CHARS = 200


def _excerpt(fields: dict[str, object] | None) -> str | None:
    return None if fields is None else json.dumps(fields, ensure_ascii=False, default=str)[:EXCERPT_CHARS]


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


class Validator:
    """Stateful across one run: remembers ids already seen (on disk) to catch duplicates within the
    input; ``close`` when the run ends."""

    def __init__(self, fields: FieldMap) -> None:
        self.fields = fields
        self._seen = SeenIds()

    def close(self) -> None:
        self._seen.close()

    def __call__(self, raw: RawRecord) -> Document | Reject:
        if raw.error is not None or raw.fields is None:
            return Reject(raw.position, raw.error or "unreadable record", None, raw.excerpt)
        row = raw.fields
        doc_id = _as_text(row.get(self.fields.id))
        if doc_id is None or not doc_id.strip():
            return Reject(raw.position, f"missing id (field {self.fields.id!r})", None, _excerpt(row))
        doc_id = doc_id.strip()
        text = row.get(self.fields.text)
        if text is None:
            return Reject(raw.position, f"missing text (field {self.fields.text!r})", doc_id, _excerpt(row))
        if not isinstance(text, str):
            return Reject(raw.position, f"text is {type(text).__name__}, not a string", doc_id, _excerpt(row))
        title = _as_text(row.get(self.fields.title)) or ""
        # A record with a title and an empty text is a real document (a PubMed citation without an abstract,
        # a CORD-19 entry): it is found by its title. An absent text field is more likely a wrong mapping.
        if not text.strip() and not title.strip():
            return Reject(raw.position, "empty text and no title", doc_id, _excerpt(row))
        metadata, problem = self._metadata(row)
        if problem:
            return Reject(raw.position, problem, doc_id, _excerpt(row))
        if not self._seen.add(doc_id):
            return Reject(raw.position, f"duplicate id {doc_id!r} within the input", doc_id, _excerpt(row))
        return Document(doc_id, title.strip(), text.strip(), metadata, raw.position)

    def _metadata(self, row: dict[str, object]) -> tuple[Metadata, str | None]:
        metadata: Metadata = {}
        for name, kind in self.fields.metadata:
            value = row.get(name)
            if value is None or value == "" or value == []:
                continue
            if kind == "integer":
                try:
                    metadata[name] = int(str(value).strip())
                except ValueError:
                    return {}, f"metadata {name!r} = {value!r} is not an integer"
            elif isinstance(value, list):
                metadata[name] = [str(v) for v in value if str(v).strip()]
            else:
                metadata[name] = str(value).strip()
        return metadata, None
