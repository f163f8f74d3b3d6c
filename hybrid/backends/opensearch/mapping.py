"""The index a `hybrid` ingest builds: BM25 text fields, a Lucene HNSW vector field, filterable
metadata, and the encoder fingerprint in the mapping's ``_meta`` (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from hybrid.backends.base import ID_FIELD, TEXT_FIELD, TITLE_FIELD, VECTOR_FIELD, IndexOptions
from hybrid.documents import MetadataFields
from hybrid.encoders import Fingerprint

# OpenSearch k-NN space for each encoder similarity (Lucene engine; DOMAIN.md §4).
SPACE_TYPES = {"cosine": "cosinesimil", "dot": "innerproduct"}
META_KEY = "hybrid"


def index_body(fingerprint: Fingerprint, fields: MetadataFields, options: IndexOptions, *, state: str) -> dict[str, object]:
    properties: dict[str, object] = {
        ID_FIELD: {"type": "keyword"},
        TITLE_FIELD: {"type": "text", "analyzer": "english"},
        TEXT_FIELD: {"type": "text", "analyzer": "english"},
        VECTOR_FIELD: {
            "type": "knn_vector",
            "dimension": fingerprint.dimension,
            "method": {
                "name": "hnsw",
                "engine": "lucene",
                "space_type": SPACE_TYPES[fingerprint.similarity],
                "parameters": {"m": options.hnsw_m, "ef_construction": options.hnsw_ef_construction},
            },
        },
    }
    for name, kind in fields.items():
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
            }
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": meta(fingerprint, fields, options, state=state),
            "properties": properties,
        },
    }


def meta(fingerprint: Fingerprint, fields: MetadataFields, options: IndexOptions, *, state: str) -> dict[str, object]:
    return {
        META_KEY: {
            "fingerprint": fingerprint.to_meta(),
            "state": state,  # "loading" until an ingest finishes, then "ready"
            "metadata_fields": dict(fields),
            "replicas": options.replicas,
            "refresh_interval": options.refresh_interval,
        }
    }


def stored_meta(mapping_response: Mapping[str, object], index: str) -> dict[str, object] | None:
    """The ``_meta.hybrid`` block of ``GET index/_mapping``'s answer, or None for a foreign index."""
    mappings = mapping_response[index]["mappings"]  # type: ignore[index]
    return (mappings.get("_meta") or {}).get(META_KEY)  # type: ignore[no-any-return, union-attr]


def document_source(
    doc_id: str, title: str, text: str, metadata: Mapping[str, object], vector: list[float]
) -> dict[str, object]:
    return {ID_FIELD: doc_id, TITLE_FIELD: title, TEXT_FIELD: text, VECTOR_FIELD: vector, **metadata}
