"""Dense encoders: one interface over the BMRetriever recipe and sentence-transformers models.

    from hybrid.encoders import load_encoder
    enc = load_encoder("minilm")
    q = enc.encode_queries(["statins lower LDL"], instruction="scifact")
    p = enc.encode_passages(["..."])
    enc.score(q, p)

Recipes, presets and fingerprints (no weights, no torch) live in ``hybrid.recipes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.encoders.base import Encoder
from hybrid.encoders.device import Precision
from hybrid.index_meta import IndexMeta
from hybrid.recipes import EncoderLoadError, EncoderSpec, model_for_index, resolve_spec
from hybrid.recipes.resolve import Kind

if TYPE_CHECKING:
    import torch

__all__ = ["Encoder", "encoder_for_index", "load_encoder"]


def load_encoder(
    name_or_path: str | EncoderSpec,
    *,
    device: str | None = None,
    batch_size: int | None = None,
    precision: Precision = "auto",
    cache_dir: Path | None = None,
    kind: Kind | None = None,
    dtype: torch.dtype | None = None,
    **options: object,
) -> Encoder:
    """Load an encoder by preset name, path, hub name, or spec.

    Args:
        name_or_path: e.g. ``minilm``, ``smollm2-135m``, ``bmretriever-410m``, ``runs/x``,
            ``BMRetriever/BMRetriever-2B``, ``/models/biomedlm``.
        device: ``cuda``, ``cpu`` …; default CUDA when present.
        batch_size: texts per forward pass.
        precision: ``auto`` (on CPUs: ONNX Runtime for sentence-transformers models, int8 passages and fp32
            queries; decoders in bf16 autocast where the CPU has native bf16, else fp32), ``fp32``, ``bf16``
            or ``int8``.
        cache_dir: where de-quantised GGUF copies and ONNX exports are kept.
        dtype: weight dtype (default: bf16 on CUDA, float32 on CPU); training asks for float32.
        kind / options: explicit recipe for free-form models (any ``EncoderSpec`` field).

    Raises:
        EncoderLoadError: naming what was tried and why it failed.
    """
    try:
        spec = name_or_path if isinstance(name_or_path, EncoderSpec) else resolve_spec(name_or_path, kind=kind, **options)
    except (EncoderLoadError, TypeError, ValueError) as exc:  # bad option names or values
        if isinstance(exc, EncoderLoadError):
            raise
        raise EncoderLoadError(f"cannot resolve encoder {name_or_path!r}: {exc}") from exc
    extra: dict[str, object] = {"device": device, "precision": precision, "dtype": dtype}
    if batch_size is not None:
        extra["batch_size"] = batch_size
    try:
        if spec.kind == "sentence-transformers":
            from hybrid.encoders.sentence import SentenceTransformerEncoder

            return SentenceTransformerEncoder(spec, cache_dir=cache_dir, **extra)  # type: ignore[arg-type]
        from hybrid.encoders.decoder import DecoderEncoder

        return DecoderEncoder(spec, cache_dir=cache_dir, **extra)  # type: ignore[arg-type]
    except EncoderLoadError:
        raise
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError … for unloadable models
        where = f" (preset {spec.name})" if spec.name else ""
        raise EncoderLoadError(
            f"cannot load encoder {spec.model_id}{where} from {spec.source} as a {spec.kind} model: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc


def encoder_for_index(meta: IndexMeta, *, explicit: str | None = None, device: str | None = None,
                      precision: Precision = "auto") -> Encoder:
    """The encoder that searches an index with this record (see ``model_for_index``)."""
    return load_encoder(model_for_index(meta.fingerprint, explicit, meta.encoder_source), device=device,
                        precision=precision)
