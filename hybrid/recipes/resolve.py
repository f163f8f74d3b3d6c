"""From a name to an encoder recipe, without loading weights: presets, local folders, GGUF files, hub
names, and the recipe that fits an existing index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from hybrid.recipes.errors import EncoderLoadError
from hybrid.recipes.fingerprint import Fingerprint
from hybrid.recipes.presets import PRESETS, available_presets, preset
from hybrid.recipes.spec import EncoderSpec, bmretriever_spec

# A folder written by `hybrid train` carries its recipe here, so it loads like a preset.
SPEC_FILE = "hybrid-encoder.json"
# The encoder ingest and training use when none is named.
DEFAULT_MODEL = "minilm"

Kind = Literal["decoder", "sentence-transformers"]


def _sentence_spec(model_id: str, source: str, options: dict[str, object]) -> EncoderSpec:
    base: dict[str, object] = {
        "model_id": model_id, "source": source, "kind": "sentence-transformers",
        "pooling": "mean", "normalize": True, "similarity": "cosine",
    }
    return EncoderSpec(**{**base, **options})  # type: ignore[arg-type]


def _spec_for_path(path: Path, kind: Kind | None, options: dict[str, object]) -> EncoderSpec:
    if path.is_file() and path.suffix == ".gguf":
        return bmretriever_spec(path.stem, source=str(path.parent), gguf_file=path.name, **options)
    if (path / SPEC_FILE).is_file():
        stored = json.loads((path / SPEC_FILE).read_text())
        return EncoderSpec(**{**stored, "source": str(path), **options})
    if kind == "sentence-transformers" or (kind is None and (path / "modules.json").is_file()):
        return _sentence_spec(path.name, str(path), options)
    if (path / "config.json").is_file() or kind == "decoder":
        return bmretriever_spec(path.name, source=str(path), **options)
    raise EncoderLoadError(f"{path} holds neither {SPEC_FILE}, a sentence-transformers model, nor a config.json")


def _spec_for_hub(name: str, kind: Kind | None, options: dict[str, object]) -> EncoderSpec:
    for _, candidate in available_presets():
        if candidate.model_id == name and candidate.gguf_file is None:
            return candidate.replace(**options)
    if kind is None:
        from huggingface_hub import file_exists

        kind = "sentence-transformers" if file_exists(name, "modules.json") else "decoder"
    if kind == "sentence-transformers":
        return _sentence_spec(name, name, options)
    return bmretriever_spec(name, **options)


def resolve_spec(name_or_path: str, *, kind: Kind | None = None, **options: object) -> EncoderSpec:
    """A preset name, a local folder or GGUF file, or a hub name, with explicit option overrides."""
    if name_or_path.lower() in PRESETS:
        return preset(name_or_path).replace(**options)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _spec_for_path(path, kind, options)
    if "/" in name_or_path and not name_or_path.startswith((".", "/", "~")):
        try:
            return _spec_for_hub(name_or_path, kind, options)
        except EncoderLoadError:
            raise
        except Exception as exc:  # the hub lookup (no network, unknown repository)
            raise EncoderLoadError(f"cannot resolve encoder {name_or_path!r}: {type(exc).__name__}: {exc}") from exc
    raise EncoderLoadError(
        f"unknown encoder {name_or_path!r}: not a preset ({', '.join(PRESETS)}), not an existing path, "
        "and not a hub name (owner/name)"
    )


def model_for_index(fingerprint: Fingerprint, explicit: str | None,
                    recorded_source: str | None = None) -> str | EncoderSpec:
    """The encoder to search an index with: the one asked for; else the preset that built the index;
    else the recipe the fingerprint records, loaded from where ingest loaded it (a hub name, or a path
    that exists here); else the default. The caller loads it and checks its fingerprint."""
    if explicit:
        return explicit
    for name, spec in available_presets():
        if spec.model_id == fingerprint.model_id and spec.quantize == fingerprint.quantize:
            return name
    if recorded_source and (Path(recorded_source).exists() or _is_hub_name(recorded_source)):
        return resolve_spec(recorded_source, kind=fingerprint.kind, **_recipe(fingerprint))  # type: ignore[arg-type]
    return DEFAULT_MODEL


def _recipe(fingerprint: Fingerprint) -> dict[str, object]:
    """The spec fields a fingerprint pins down (so a free-form model loads exactly as it was ingested)."""
    return {"pooling": fingerprint.pooling, "normalize": fingerprint.normalize, "similarity": fingerprint.similarity,
            "query_template": fingerprint.query_template, "passage_template": fingerprint.passage_template,
            "max_length": fingerprint.max_length, "quantize": fingerprint.quantize}


def _is_hub_name(name: str) -> bool:
    return name.count("/") == 1 and not name.startswith((".", "/", "~"))
