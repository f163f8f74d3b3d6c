"""sentence-transformers models (e.g. all-MiniLM-L6-v2: mean pooling, normalised) behind the Encoder API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hybrid.encoders.base import Encoder
from hybrid.encoders.device import Precision
from hybrid.encoders.quantize import quantize_linear_int8
from hybrid.recipes.errors import EncoderLoadError
from hybrid.recipes.fingerprint import weights_identity
from hybrid.recipes.spec import EncoderSpec


class SentenceTransformerEncoder(Encoder):
    """Templates (``query: {query}`` for E5-style models) are applied here; the model pools and normalises."""

    def __init__(
        self,
        spec: EncoderSpec,
        *,
        device: str | None = None,
        batch_size: int = 32,
        precision: Precision = "auto",
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(spec, device=device, batch_size=batch_size, precision=precision, dtype=dtype)
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(spec.source, device=str(self.device), revision=spec.revision)
        self.model.max_seq_length = spec.max_length
        if self.device.type == "cuda" or dtype is not None:
            self.model.to(self.dtype)
        transformer = self.model[0]
        # sentence-transformers 6 keeps the HF model in `.model` (`.auto_model` in older releases).
        attr = "model" if isinstance(getattr(transformer, "model", None), torch.nn.Module) else "auto_model"
        if spec.quantize == "int8":
            setattr(transformer, attr, quantize_linear_int8(getattr(transformer, attr), self.device))
        dimension = getattr(self.model, "get_embedding_dimension", self.model.get_sentence_embedding_dimension)()
        if dimension is None:
            raise EncoderLoadError(f"{spec.model_id}: the model does not report its embedding dimension")
        config = getattr(getattr(transformer, attr), "config", None)
        self._set_identity(int(dimension), weights_identity(spec.source, config, spec.revision))

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            vectors = self.model.encode(
                texts,
                batch_size=len(texts),
                convert_to_numpy=True,
                normalize_embeddings=self.spec.normalize,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    @property
    def module(self) -> torch.nn.Module:
        return self.model

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        return dict(self.model.tokenize(texts))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        features = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        pooled = self.model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(pooled, dim=-1) if self.spec.normalize else pooled

    def save_weights(self, folder: Path) -> None:
        self.model.save(str(folder))
