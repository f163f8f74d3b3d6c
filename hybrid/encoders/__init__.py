"""Dense encoders: one interface over the BMRetriever recipe and sentence-transformers models.

    from hybrid.encoders import load_encoder
    enc = load_encoder("minilm")
    q = enc.encode_queries(["statins lower LDL"], instruction="scifact")
    p = enc.encode_passages(["..."])
    enc.score(q, p)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch

from hybrid.encoders.base import Encoder
from hybrid.encoders.device import Precision
from hybrid.encoders.errors import EncoderError, EncoderLoadError, FingerprintMismatchError
from hybrid.encoders.fingerprint import Fingerprint, check_fingerprint
from hybrid.encoders.instructions import BMRETRIEVER_INSTRUCTIONS, resolve_instruction
from hybrid.encoders.presets import PRESETS, available_presets, preset
from hybrid.encoders.spec import EncoderSpec, bmretriever_spec, passage_text

__all__ = [
    "BMRETRIEVER_INSTRUCTIONS",
    "PRESETS",
    "available_presets",
    "Encoder",
    "EncoderError",
    "EncoderLoadError",
    "EncoderSpec",
    "Fingerprint",
    "FingerprintMismatchError",
    "SPEC_FILE",
    "bmretriever_spec",
    "check_fingerprint",
    "load_encoder",
    "passage_text",
    "resolve_instruction",
    "resolve_spec",
]

# A folder written by `hybrid train` carries its recipe here, so it loads like a preset.
SPEC_FILE = "hybrid-encoder.json"


def _spec_for_path(path: Path, kind: str | None, options: dict[str, object]) -> EncoderSpec:
    if path.is_file() and path.suffix == ".gguf":
        return bmretriever_spec(path.stem, source=str(path.parent), gguf_file=path.name, **options)
    if (path / SPEC_FILE).is_file():
        stored = json.loads((path / SPEC_FILE).read_text())
        return EncoderSpec(**{**stored, "source": str(path), **options})
    if kind == "sentence-transformers" or (kind is None and (path / "modules.json").is_file()):
        base: dict[str, object] = {
            "model_id": path.name, "source": str(path), "kind": "sentence-transformers",
            "pooling": "mean", "normalize": True, "similarity": "cosine",
        }
        return EncoderSpec(**{**base, **options})  # type: ignore[arg-type]
    if (path / "config.json").is_file() or kind == "decoder":
        return bmretriever_spec(path.name, source=str(path), **options)
    raise EncoderLoadError(f"{path} holds neither {SPEC_FILE}, a sentence-transformers model, nor a config.json")


def _spec_for_hub(name: str, kind: str | None, options: dict[str, object]) -> EncoderSpec:
    for _, candidate in available_presets():
        if candidate.model_id == name and candidate.gguf_file is None:
            return candidate.replace(**options)
    if kind is None:
        from huggingface_hub import file_exists

        kind = "sentence-transformers" if file_exists(name, "modules.json") else "decoder"
    if kind == "sentence-transformers":
        base: dict[str, object] = {
            "model_id": name, "source": name, "kind": kind, "pooling": "mean", "normalize": True, "similarity": "cosine",
        }
        return EncoderSpec(**{**base, **options})  # type: ignore[arg-type]
    return bmretriever_spec(name, **options)


def resolve_spec(
    name_or_path: str, *, kind: Literal["decoder", "sentence-transformers"] | None = None, **options: object
) -> EncoderSpec:
    """A preset name, a local folder or GGUF file, or a hub name, with explicit option overrides."""
    if name_or_path.lower() in PRESETS:
        return preset(name_or_path).replace(**options)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _spec_for_path(path, kind, options)
    if "/" in name_or_path and not name_or_path.startswith((".", "/", "~")):
        return _spec_for_hub(name_or_path, kind, options)
    raise EncoderLoadError(
        f"unknown encoder {name_or_path!r}: not a preset ({', '.join(PRESETS)}), not an existing path, "
        "and not a hub name (owner/name)"
    )


def load_encoder(
    name_or_path: str | EncoderSpec,
    *,
    device: str | None = None,
    batch_size: int | None = None,
    precision: Precision = "auto",
    cache_dir: Path | None = None,
    kind: Literal["decoder", "sentence-transformers"] | None = None,
    dtype: torch.dtype | None = None,
    **options: object,
) -> Encoder:
    """Load an encoder by preset name, path, hub name, or spec.

    Args:
        name_or_path: e.g. ``minilm``, ``smollm2-135m``, ``bmretriever-410m``, ``runs/x``,
            ``BMRetriever/BMRetriever-2B``, ``/models/biomedlm``.
        device: ``cuda``, ``cpu`` …; default CUDA when present.
        batch_size: texts per forward pass.
        precision: ``auto`` (bf16 where the hardware has it), ``fp32`` or ``bf16``.
        cache_dir: where de-quantised GGUF copies are kept.
        dtype: weight dtype (default: bf16 on CUDA, float32 on CPU); training asks for float32.
        kind / options: explicit recipe for free-form models (any ``EncoderSpec`` field).

    Raises:
        EncoderLoadError: naming what was tried and why it failed.
    """
    try:
        spec = name_or_path if isinstance(name_or_path, EncoderSpec) else resolve_spec(name_or_path, kind=kind, **options)
    except EncoderLoadError:
        raise
    except Exception as exc:  # hub lookups, bad option values
        raise EncoderLoadError(f"cannot resolve encoder {name_or_path!r}: {type(exc).__name__}: {exc}") from exc
    extra: dict[str, object] = {"device": device, "precision": precision, "dtype": dtype}
    if batch_size is not None:
        extra["batch_size"] = batch_size
    try:
        if spec.kind == "sentence-transformers":
            from hybrid.encoders.sentence import SentenceTransformerEncoder

            return SentenceTransformerEncoder(spec, **extra)  # type: ignore[arg-type]
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
