"""Encoder fingerprints: stored in an index's mapping ``_meta`` by ingest, checked by search, so a
query is never embedded by a different encoder than the documents it is compared with."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hybrid.recipes.errors import FingerprintMismatchError
from hybrid.recipes.spec import EncoderSpec

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
_SAMPLE = 1 << 20


def weights_digest(folder: Path) -> str:
    """A cheap identity for local weights: SHA-256 over each weight file's name, size, first and last MiB.

    Reading whole multi-GB checkpoints at every start would be slow; different weights of the same
    size that agree in both sampled MiB are not a practical risk.
    """
    digest = hashlib.sha256()
    # A training run's folder keeps its resumable checkpoints (and optimiser state) in checkpoints/;
    # they are not the encoder's weights.
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES
                   and "checkpoints" not in p.relative_to(folder).parts[:-1])
    if not files:
        raise ValueError(f"no weight files ({', '.join(WEIGHT_SUFFIXES)}) under {folder}")
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder)}\0{size}\0".encode())
        with path.open("rb") as fh:
            digest.update(fh.read(_SAMPLE))
            fh.seek(max(0, size - _SAMPLE))
            digest.update(fh.read(_SAMPLE))
    return "sha256-sampled:" + digest.hexdigest()[:32]


def weights_identity(source: str, config: object, revision: str | None = None) -> str:
    """Which weights a loaded model has: a digest of a local folder, or the hub commit it resolved to
    (``config._commit_hash``, set by transformers when it loads from the hub)."""
    local = Path(source)
    if local.is_dir():
        return weights_digest(local)
    commit = getattr(config, "_commit_hash", None)
    return f"hub:{commit or revision or 'unknown-revision'}"


@dataclass(frozen=True)
class Fingerprint:
    """The recipe and weights that determine every passage vector."""

    model_id: str
    weights: str
    dimension: int
    kind: str
    pooling: str
    normalize: bool
    similarity: str
    query_template: str
    passage_template: str
    max_length: int
    quantize: str | None

    @classmethod
    def of(cls, spec: EncoderSpec, *, weights: str, dimension: int) -> Fingerprint:
        return cls(
            model_id=spec.model_id,
            weights=weights,
            dimension=dimension,
            kind=spec.kind,
            pooling=spec.pooling,
            normalize=spec.normalize,
            similarity=spec.similarity,
            query_template=spec.query_template,
            passage_template=spec.passage_template,
            max_length=spec.max_length,
            quantize=spec.quantize,
        )

    def fields(self) -> dict[str, object]:
        return dict(self.__dict__)

    @property
    def id(self) -> str:
        canonical = json.dumps(self.fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def to_meta(self) -> dict[str, object]:
        return {"id": self.id, **self.fields()}

    @classmethod
    def from_meta(cls, meta: Mapping[str, object]) -> Fingerprint:
        known = {k: meta[k] for k in cls.__dataclass_fields__ if k in meta}
        missing = set(cls.__dataclass_fields__) - set(known)
        if missing:
            raise ValueError(f"fingerprint is missing {sorted(missing)}")
        return cls(**known)  # type: ignore[arg-type]

    def differences(self, other: Fingerprint) -> list[str]:
        return [k for k, v in self.fields().items() if other.fields()[k] != v]


def check_fingerprint(stored: Fingerprint, current: Fingerprint, *, index: str) -> None:
    """Raise unless ``current`` (the chosen encoder) is the encoder that built ``index``."""
    diff = stored.differences(current)
    if diff:
        details = "; ".join(f"{k}: index has {stored.fields()[k]!r}, encoder has {current.fields()[k]!r}" for k in diff)
        raise FingerprintMismatchError(
            f"index {index!r} was built with encoder {stored.model_id} ({stored.id}), not the chosen "
            f"{current.model_id} ({current.id}): {details}. Use the index's encoder, or re-ingest with --reindex."
        )
