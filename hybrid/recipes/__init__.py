"""Encoder recipes: what an encoder is (templates, pooling, similarity, instructions, presets) and the
fingerprint an index stores — everything that can be decided without loading a model, so this package
never imports torch. ``hybrid.encoders`` loads the weights."""

from hybrid.recipes.errors import EncoderError, EncoderLoadError, FingerprintMismatchError
from hybrid.recipes.fingerprint import Fingerprint, check_fingerprint, weights_digest, weights_identity
from hybrid.recipes.instructions import BMRETRIEVER_INSTRUCTIONS, resolve_instruction
from hybrid.recipes.presets import PRESETS, available_presets, preset
from hybrid.recipes.resolve import DEFAULT_MODEL, SPEC_FILE, model_for_index, resolve_spec
from hybrid.recipes.spec import EncoderSpec, bmretriever_spec, passage_text

__all__ = [
    "BMRETRIEVER_INSTRUCTIONS",
    "DEFAULT_MODEL",
    "PRESETS",
    "SPEC_FILE",
    "EncoderError",
    "EncoderLoadError",
    "EncoderSpec",
    "Fingerprint",
    "FingerprintMismatchError",
    "available_presets",
    "bmretriever_spec",
    "check_fingerprint",
    "model_for_index",
    "passage_text",
    "preset",
    "resolve_instruction",
    "resolve_spec",
    "weights_digest",
    "weights_identity",
]
