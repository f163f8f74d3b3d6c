"""The index a `hybrid` ingest builds: BM25 text fields, a Lucene HNSW vector field, filterable
metadata, and the hybrid record (``IndexMeta``) in the mapping's ``_meta`` (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping

from hybrid.backends.base import (
    ID_FIELD,
    PASSAGE_END,
    PASSAGE_START,
    PASSAGES_FIELD,
    TEXT_FIELD,
    TITLE_FIELD,
    VECTOR_FIELD,
    IndexOptions,
)
from hybrid.index_meta import META_KEY, IndexMeta
from hybrid.lexical import BODY_FIELD, LexicalLayout
from hybrid.passages import DocumentVectors

# OpenSearch k-NN space for each encoder similarity (Lucene engine: faiss, the 2.19 default, needs
# native libraries that the Maven Central plugin zip does not carry).
SPACE_TYPES = {"cosine": "cosinesimil", "dot": "innerproduct"}


def lexical_properties(layout: LexicalLayout) -> dict[str, object]:
    """The BM25 fields: title and text (searched apart in the ``fields`` layout), and for ``body`` the
    two copied into one field that BM25 scores (not stored: ``_source`` already has both)."""
    if layout.name == "fields":
        return {TITLE_FIELD: {"type": "text", "analyzer": "english"}, TEXT_FIELD: {"type": "text", "analyzer": "english"}}
    return {
        TITLE_FIELD: {"type": "text", "analyzer": "english", "copy_to": BODY_FIELD},
        TEXT_FIELD: {"type": "text", "analyzer": "english", "copy_to": BODY_FIELD},
        BODY_FIELD: {"type": "text", "analyzer": "english"},
    }


def similarity_settings(layout: LexicalLayout) -> dict[str, object]:
    """The layout's k1 and b as the index's default similarity (the ``fields`` layout used Lucene's defaults)."""
    if layout.name == "fields":
        return {}
    return {"similarity": {"default": {"type": "BM25", "k1": layout.k1, "b": layout.b}}}


def hnsw_parameters(options: IndexOptions) -> dict[str, object]:
    parameters: dict[str, object] = {"m": options.hnsw_m, "ef_construction": options.hnsw_ef_construction}
    if options.vector_compression == "sq":
        parameters["encoder"] = {"name": "sq"}  # Lucene's scalar quantiser (int7), OpenSearch 2.16 and later
    return parameters


def vector_property(meta: IndexMeta, options: IndexOptions) -> dict[str, object]:
    return {
        "type": "knn_vector",
        "dimension": meta.fingerprint.dimension,
        "method": {
            "name": "hnsw",
            "engine": "lucene",
            "space_type": SPACE_TYPES[meta.fingerprint.similarity],
            "parameters": hnsw_parameters(options),
        },
    }


def dense_properties(meta: IndexMeta, options: IndexOptions) -> dict[str, object]:
    """One vector per document, or (an index of passages) a nested object per passage: its vector and its
    span of the text (doc values only: read back for the matched passage, never searched)."""
    if meta.passages is None:
        return {VECTOR_FIELD: vector_property(meta, options)}
    span = {"type": "integer", "index": False}
    return {PASSAGES_FIELD: {"type": "nested", "properties": {
        VECTOR_FIELD: vector_property(meta, options), PASSAGE_START: span, PASSAGE_END: span}}}


def index_body(meta: IndexMeta, options: IndexOptions) -> dict[str, object]:
    properties: dict[str, object] = {
        ID_FIELD: {"type": "keyword"},
        **lexical_properties(meta.lexical),
        **dense_properties(meta, options),
    }
    for name, kind in meta.metadata_fields.items():
        if name in properties:
            raise ValueError(f"metadata field {name!r} clashes with a built-in field")
        properties[name] = {"type": kind}
    return {
        "settings": {
            "index": {
                "knn": True,
                "number_of_shards": options.shards,
                "number_of_replicas": options.replicas,
                "refresh_interval": options.refresh_interval,
                **similarity_settings(meta.lexical),
            }
        },
        "mappings": {"dynamic": "strict", "_meta": meta_mapping(meta), "properties": properties},
    }


def meta_mapping(meta: IndexMeta) -> dict[str, object]:
    """The mapping's ``_meta`` object holding the record."""
    return {META_KEY: meta.to_block()}


def meta_block(mappings: Mapping[str, object]) -> Mapping[str, object] | None:
    """The record in one index's ``mappings`` (None for an index hybrid did not build)."""
    return (mappings.get("_meta") or {}).get(META_KEY)  # type: ignore[no-any-return, union-attr]


def index_meta_of(mapping_response: Mapping[str, object], index: str) -> IndexMeta:
    """The record of ``GET index/_mapping``'s answer (an alias answers with its physical index)."""
    mappings = next(iter(mapping_response.values()))["mappings"]  # type: ignore[index]
    return IndexMeta.from_block(meta_block(mappings), index)


def document_source(doc_id: str, title: str, text: str, metadata: Mapping[str, object], vectors: DocumentVectors,
                    *, passages: bool) -> dict[str, object]:
    """The indexed document: its vector (the one passage's), or each passage's vector and span."""
    if passages:
        dense: dict[str, object] = {PASSAGES_FIELD: [
            {VECTOR_FIELD: v.tolist(), PASSAGE_START: a, PASSAGE_END: b} for (a, b), v in zip(vectors.spans, vectors.vectors)]}
    else:
        dense = {VECTOR_FIELD: vectors.vectors[0].tolist()}
    return {ID_FIELD: doc_id, TITLE_FIELD: title, TEXT_FIELD: text, **dense, **metadata}
