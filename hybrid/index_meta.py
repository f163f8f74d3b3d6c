"""What `hybrid` records about each index it builds — the encoder fingerprint, the filterable metadata
fields, the BM25 layout and whether loading finished — and the one place that record is read and written.

OpenSearch keeps it in the mapping's ``_meta.hybrid``; the embedded store in its meta table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hybrid.documents import MetadataFields
from hybrid.lexical import CURRENT_LAYOUT, LexicalLayout
from hybrid.passages import PassageLayout
from hybrid.recipes.fingerprint import Fingerprint

META_KEY = "hybrid"
LoadState = Literal["loading", "ready"]


class IndexMetaError(ValueError):
    """An index's record is missing or unreadable (not built by hybrid, or damaged)."""


@dataclass(frozen=True)
class IndexMeta:
    fingerprint: Fingerprint
    metadata_fields: MetadataFields = field(default_factory=dict)
    state: LoadState = "ready"  # "loading" until an ingest finishes
    # Settings an interrupted load must restore (OpenSearch only).
    replicas: int | None = None
    refresh_interval: str | None = None
    # Where ingest loaded the encoder from (a hub name or a local folder): how search finds an encoder
    # that is no preset. A hint only; the fingerprint decides.
    encoder_source: str | None = None
    # How the vectors were computed (e.g. "onnxruntime int8 matmuls on cpu"): for people; precision is
    # a run-time choice that does not decide which encoder may search the index.
    encoder_runtime: str | None = None
    # How the BM25 side is indexed and queried; a record without one predates the current layout.
    lexical: LexicalLayout = CURRENT_LAYOUT
    # The index's default fusion, as `hybrid tune` stored it: {"config": {FusionConfig fields}, "chosen_by": …}.
    # None: the built-in default. Kept as plain data here; ``hybrid.retrieval.request`` reads it.
    default_fusion: Mapping[str, object] | None = None
    # Each side's self-hit rate on pseudo-queries (``hybrid.retrieval.calibration``): adaptive fusion's weights.
    calibration: Mapping[str, object] | None = None
    # How the vectors are stored: "none" (float32), OpenSearch's "sq", the embedded store's "fp16" / "int8".
    vector_compression: str = "none"
    # How long documents are split into passages for the dense side; None: one vector per document (the
    # encoder reads the start of a long one).
    passages: PassageLayout | None = None

    def continuing(self, stored: IndexMeta) -> IndexMeta:
        """This record for a load into the existing index ``stored`` describes: the index's BM25 layout
        vector storage and passage layout (its mapping fixes them), default fusion and calibration stay (ingest
        redoes the calibration when documents change)."""
        return dataclasses.replace(self, lexical=stored.lexical, default_fusion=stored.default_fusion,
                                   calibration=stored.calibration, vector_compression=stored.vector_compression,
                                   passages=stored.passages)

    def rebuilding(self, stored: IndexMeta) -> IndexMeta:
        """This record for a rebuild (``--reindex``) of the index ``stored`` describes: the tuned default
        fusion carries over when the encoder is the same (another encoder needs tuning anew)."""
        if stored.fingerprint.id != self.fingerprint.id:
            return self
        return dataclasses.replace(self, default_fusion=stored.default_fusion)

    def to_block(self) -> dict[str, object]:
        block: dict[str, object] = {
            "fingerprint": self.fingerprint.to_meta(),
            "state": self.state,
            "metadata_fields": dict(self.metadata_fields),
            "lexical": self.lexical.to_block(),
        }
        if self.replicas is not None:
            block["replicas"] = self.replicas
        if self.refresh_interval is not None:
            block["refresh_interval"] = self.refresh_interval
        if self.encoder_source is not None:
            block["encoder_source"] = self.encoder_source
        if self.encoder_runtime is not None:
            block["encoder_runtime"] = self.encoder_runtime
        if self.default_fusion is not None:
            block["default_fusion"] = dict(self.default_fusion)
        if self.calibration is not None:
            block["calibration"] = dict(self.calibration)
        if self.vector_compression != "none":
            block["vector_compression"] = self.vector_compression
        if self.passages is not None:
            block["passages"] = self.passages.to_block()
        return block

    @classmethod
    def from_block(cls, block: Mapping[str, object] | None, index: str) -> IndexMeta:
        """Parse a stored record; ``IndexMetaError`` names the index when it is missing or damaged."""
        if not block:
            raise IndexMetaError(f"index {index!r} was not built by hybrid (it has no hybrid record in its metadata)")
        try:
            fingerprint = Fingerprint.from_meta(block["fingerprint"])  # type: ignore[arg-type]
            fields = dict(block.get("metadata_fields") or {})  # type: ignore[call-overload]
            state = block.get("state", "ready")
            if state not in ("loading", "ready"):
                raise ValueError(f"unknown state {state!r}")
            replicas = block.get("replicas")
            refresh = block.get("refresh_interval")
            source, runtime = block.get("encoder_source"), block.get("encoder_runtime")
            lexical = LexicalLayout.from_block(block.get("lexical"))  # type: ignore[arg-type]
            fusion, calibration = block.get("default_fusion"), block.get("calibration")
            for name, value in (("default_fusion", fusion), ("calibration", calibration)):
                if value is not None and not isinstance(value, Mapping):
                    raise ValueError(f"{name} is not an object")
            return cls(fingerprint, fields, state, None if replicas is None else int(replicas),  # type: ignore[arg-type, call-overload]
                       None if refresh is None else str(refresh), None if source is None else str(source),
                       None if runtime is None else str(runtime), lexical, fusion, calibration,
                       str(block.get("vector_compression", "none")),
                       PassageLayout.from_block(block.get("passages")))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexMetaError(f"index {index!r} has a damaged hybrid record: {exc}") from None
