"""GGUF checkpoints de-quantised once into a float copy under the cache, then loaded from there."""

from __future__ import annotations

import shutil
from pathlib import Path

import platformdirs

from hybrid.recipes.fingerprint import weights_digest


def materialize_gguf(folder: Path, gguf_file: str, cache_dir: Path | None = None) -> Path:
    """Folder holding a ``save_pretrained`` copy of ``folder/gguf_file`` (model and tokenizer).

    The copy is keyed by the GGUF's weights digest, so a changed file gets a new copy.
    """
    from transformers import AutoModel, AutoTokenizer

    source = folder / gguf_file
    if not source.is_file():
        raise FileNotFoundError(f"GGUF file {source} does not exist")
    digest = weights_digest(folder).split(":")[-1][:16]
    root = (cache_dir or Path(platformdirs.user_cache_dir("hybrid"))) / "models"
    target = root / f"{source.stem}-{digest}"
    if (target / "config.json").is_file():
        return target
    staging = root / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file).save_pretrained(staging)
    model = AutoModel.from_pretrained(folder, gguf_file=gguf_file)
    # The de-quantised weights are plain floats; drop the GGUF marker so they can be saved and reloaded.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
