"""The encoder interface every dense model goes through: queries and passages in, float32 arrays out."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from hybrid.encoders.device import (
    Precision,
    activation_bytes_per_text,
    autocast_for,
    effective_precision,
    gpu_batch_size,
    pick_device,
    pick_dtype,
)
from hybrid.recipes.errors import EncoderLoadError
from hybrid.recipes.fingerprint import Fingerprint
from hybrid.recipes.instructions import resolve_instruction
from hybrid.recipes.spec import EncoderSpec

# Texts are length-sorted within chunks of this size, so memory for sorting and the progress
# bookkeeping stays bounded however long the input is; the output array is the only O(n) buffer.
CHUNK_SIZE = 4096
PROGRESS_MIN_TEXTS = 512


def as_texts(texts: str | Sequence[str], what: str) -> list[str]:
    """A list of strings; a single string is wrapped. Anything else is a TypeError naming the culprit."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Sequence):
        raise TypeError(f"{what} must be a string or a sequence of strings, not {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{what}[{i}] is {type(text).__name__}, expected str")
    return list(texts)


class Encoder(ABC):
    """Base class: batching, ordering, progress, validation. Subclasses embed one batch."""

    spec: EncoderSpec
    device: torch.device
    # Texts per forward pass when none is given: small batches keep a CPU's caches warm (MiniLM fp32 ran
    # 1.17x faster at 8 than at 32, SmolLM2 1.55x at 4 than at 16, on a 2-core EPYC). On a GPU the batch
    # is chosen from the model's shape and the free memory once the model is loaded.
    cpu_batch_size = 8

    def __init__(
        self,
        spec: EncoderSpec,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        precision: Precision = "auto",
        dtype: torch.dtype | None = None,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.spec = spec
        self.device = pick_device(device)
        # Training passes float32: optimiser updates in bf16 weights lose most of their precision.
        self.dtype = dtype or pick_dtype(self.device, precision)
        self._batch_given = batch_size is not None
        self.batch_size = batch_size or self.cpu_batch_size
        self.requested_precision = precision
        self.precision = effective_precision(self.device, precision, kind=spec.kind, quantize=spec.quantize)

    _dimension: int
    _weights: str

    def _set_identity(self, dimension: int, weights: str) -> None:
        """Called by subclasses once the model is loaded: its embedding size and weights identity."""
        if self.spec.dimension is not None and self.spec.dimension != dimension:
            raise EncoderLoadError(f"{self.spec.model_id}: embeddings have {dimension} dimensions, the recipe says "
                                   f"{self.spec.dimension}")
        self._dimension = dimension
        self._weights = weights
        if self.device.type == "cuda" and not self._batch_given:
            self.batch_size = self._cuda_batch_size()

    def _cuda_batch_size(self) -> int:
        config = next((m.config for m in self.module.modules() if hasattr(getattr(m, "config", None), "hidden_size")),
                      None)
        if config is None:
            return self.cpu_batch_size
        free, _total = torch.cuda.mem_get_info(self.device)
        dtype_bytes = torch.finfo(self.dtype).bits // 8
        return gpu_batch_size(free, activation_bytes_per_text(config, self.spec.max_length, dtype_bytes))

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def runtime(self) -> str:
        """How vectors are computed here, e.g. ``torch float32 on cpu, bf16 autocast`` (for records and logs)."""
        autocast = ", bf16 autocast" if self.device.type == "cpu" and self.precision == "bf16" else ""
        return f"torch {str(self.dtype).removeprefix('torch.')} on {self.device.type}{autocast}"

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of(self.spec, weights=self._weights, dimension=self._dimension)

    @property
    def text_tokenizer(self) -> object | None:
        """The Hugging Face tokenizer that cuts texts to the window (None for an encoder without one)."""
        return None

    @property
    def window_tokens(self) -> int | None:
        """Tokens of a templated text the model reads before it truncates, special tokens included."""
        return self.spec.max_length if self.text_tokenizer is not None else None

    @abstractmethod
    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embed already-templated texts; returns ``(len(texts), dimension)`` float32."""

    # The training interface (training/): the same tokenisation and pooling as inference, with gradients.

    @property
    @abstractmethod
    def module(self) -> torch.nn.Module:
        """The torch module whose parameters training updates."""

    @abstractmethod
    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Already-templated texts to a padded batch of token tensors (on the CPU)."""

    @abstractmethod
    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Pooled (and, if the spec says so, normalised) embeddings; differentiable outside inference mode."""

    @abstractmethod
    def save_weights(self, folder: Path) -> None:
        """Write the weights and tokenizer so that the spec's loader reads them back from ``folder``."""

    def encode_queries(
        self,
        queries: str | Sequence[str],
        *,
        instruction: str | None = None,
        batch_size: int | None = None,
        show_progress: bool | None = None,
    ) -> np.ndarray:
        """Embed queries with the query template; ``instruction`` is a task name or free text."""
        task = resolve_instruction(instruction)
        texts = [self.spec.format_query(q, task) for q in as_texts(queries, "queries")]
        return self._encode(texts, batch_size, show_progress)

    def encode_passages(
        self, passages: str | Sequence[str], *, batch_size: int | None = None, show_progress: bool | None = None
    ) -> np.ndarray:
        """Embed passages with the passage template (no instruction: passages are task-independent)."""
        texts = [self.spec.format_passage(p) for p in as_texts(passages, "passages")]
        return self._encode(texts, batch_size, show_progress, self.embed_passage_batch)

    def embed_passage_batch(self, texts: list[str]) -> np.ndarray:
        """Embed already-templated passages; an encoder may compute them on a faster path than queries."""
        return self.embed_batch(texts)

    def score(self, queries: np.ndarray, passages: np.ndarray) -> np.ndarray:
        """``(n_queries, n_passages)`` similarity as the spec defines it (dot or cosine)."""
        if self.spec.similarity == "cosine":
            queries = queries / np.linalg.norm(queries, axis=1, keepdims=True).clip(min=1e-12)
            passages = passages / np.linalg.norm(passages, axis=1, keepdims=True).clip(min=1e-12)
        return queries @ passages.T

    def _encode(self, texts: list[str], batch_size: int | None, show_progress: bool | None,
                embed: Callable[[list[str]], np.ndarray] | None = None) -> np.ndarray:
        size = batch_size or self.batch_size
        embed = embed or self.embed_batch
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        progress = len(texts) >= PROGRESS_MIN_TEXTS and sys.stderr.isatty() if show_progress is None else show_progress
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="encoding", unit="text")
        autocast = autocast_for(self.device, self.precision)  # follows precision, which a loader may revise
        for start in range(0, len(texts), CHUNK_SIZE):
            # Longest first: similar lengths share a batch (little padding) and an out-of-memory
            # error shows up on the first batch, not after an hour.
            order = sorted(range(start, min(start + CHUNK_SIZE, len(texts))), key=lambda i: -len(texts[i]))
            for b in range(0, len(order), size):
                ids = order[b : b + size]
                with autocast():
                    out[ids] = embed([texts[i] for i in ids])
                if bar is not None:
                    bar.update(len(ids))
        if bar is not None:
            bar.close()
        return out
