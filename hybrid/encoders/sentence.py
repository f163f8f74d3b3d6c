"""sentence-transformers models (e.g. all-MiniLM-L6-v2: mean pooling, normalised) behind the Encoder API.

In torch (fp32, or bf16 autocast), or, at precision int8 (``auto`` on CPUs without native bf16), with
the transformer in ONNX Runtime: passages with int8 matrix multiplies, queries in fp32 (a query must
embed the same whatever else is in flight; see ``onnx_runtime``). Tokenisation, pooling and
normalisation are the model's own modules either way.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from hybrid.encoders.base import Encoder
from hybrid.encoders.device import Precision, torch_cpu_precision
from hybrid.encoders.onnx_runtime import FP32_FILE, INT8_FILE, OnnxTransformer, cached_models
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
        batch_size: int | None = None,
        precision: Precision = "auto",
        dtype: torch.dtype | None = None,
        cache_dir: Path | None = None,
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
        hf_model = getattr(transformer, attr)
        self._set_identity(int(dimension), weights_identity(spec.source, getattr(hf_model, "config", None), spec.revision))
        self._onnx: tuple[OnnxTransformer, OnnxTransformer] | None = None  # (queries fp32, passages int8)
        if self.precision == "int8":
            self._onnx = self._onnx_transformers(hf_model, cache_dir)

    def _onnx_transformers(self, hf_model: torch.nn.Module, cache_dir: Path | None
                           ) -> tuple[OnnxTransformer, OnnxTransformer] | None:
        """The ONNX Runtime transformers; if they cannot be built, torch as on this CPU (``auto``) or an error
        (``int8``)."""
        import platformdirs

        sample = dict(self._tokenize(["a passage to trace the export with", "a query"]))
        try:
            folder = cached_models(hf_model, sample, self._weights, self.spec.name or Path(self.spec.source).name,
                                   cache_dir or Path(platformdirs.user_cache_dir("hybrid")))
            threads = torch.get_num_threads()
            return OnnxTransformer(folder / FP32_FILE, threads), OnnxTransformer(folder / INT8_FILE, threads)
        except Exception as exc:  # an architecture the exporter or optimizer does not handle
            if self.requested_precision == "int8":
                raise EncoderLoadError(f"{self.spec.model_id} cannot run in ONNX Runtime: {type(exc).__name__}: {exc}") from exc
            self.precision = torch_cpu_precision()
            logging.getLogger(__name__).warning("%s: ONNX Runtime unavailable (%s); running %s",
                                                self.spec.model_id, exc, self.runtime)
            return None

    @property
    def runtime(self) -> str:
        return super().runtime if self._onnx is None else "onnxruntime on cpu: queries fp32, passages int8"

    def embed_passage_batch(self, texts: list[str]) -> np.ndarray:
        return self.embed_batch(texts) if self._onnx is None else self._embed_onnx(texts, self._onnx[1])

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        if self._onnx is not None:
            return self._embed_onnx(texts, self._onnx[0])
        with torch.inference_mode():
            vectors = self.model.encode(
                texts,
                batch_size=len(texts),
                convert_to_numpy=True,
                normalize_embeddings=self.spec.normalize,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def _embed_onnx(self, texts: list[str], transformer: OnnxTransformer) -> np.ndarray:
        with torch.inference_mode():
            features = dict(self._tokenize(texts))
            features["token_embeddings"] = transformer.token_embeddings(features)
            for module in list(self.model)[1:]:  # pooling, normalisation …: the model's own modules
                features = module(features)
            vectors = features["sentence_embedding"]
            if self.spec.normalize:
                vectors = torch.nn.functional.normalize(vectors, dim=-1)
        return np.asarray(vectors.float().numpy(), dtype=np.float32)

    @property
    def module(self) -> torch.nn.Module:
        return self.model

    def _tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        # sentence-transformers 6 renamed tokenize to preprocess.
        return dict(getattr(self.model, "preprocess", self.model.tokenize)(texts))

    @property
    def text_tokenizer(self) -> object:
        return self.model.tokenizer

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        return self._tokenize(texts)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        features = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        pooled = self.model(features)["sentence_embedding"]
        return torch.nn.functional.normalize(pooled, dim=-1) if self.spec.normalize else pooled

    def save_weights(self, folder: Path) -> None:
        self.model.save(str(folder))
