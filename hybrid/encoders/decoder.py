"""The BMRetriever recipe on a causal LM (Xu et al., EMNLP 2024, arXiv 2404.18443).

Tokenize to ``max_length - 1``, append the EOS id by hand, pad, run the base model, and take the
hidden state of the last non-pad token. Works for any ``AutoModel`` decoder: gpt_neox (BMRetriever
410M/1B), gemma (2B), mistral (7B), gpt2 (BioMedLM), llama (SmolLM2, from GGUF).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hybrid.encoders.base import Encoder
from hybrid.encoders.device import Precision
from hybrid.encoders.gguf_cache import materialize_gguf
from hybrid.encoders.pooling import last_token_pool
from hybrid.encoders.quantize import quantize_linear_int8
from hybrid.recipes.errors import EncoderLoadError
from hybrid.recipes.fingerprint import weights_identity
from hybrid.recipes.spec import EncoderSpec


class DecoderEncoder(Encoder):
    """Last-token embeddings of a causal LM, with the BMRetriever templates."""

    cpu_batch_size = 4

    def __init__(
        self,
        spec: EncoderSpec,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        precision: Precision = "auto",
        cache_dir: Path | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(spec, device=device, batch_size=batch_size, precision=precision, dtype=dtype)
        from transformers import AutoModel, AutoTokenizer

        source = spec.source
        if spec.gguf_file:
            # De-quantising a GGUF takes ~25 s; do it once and load the float copy afterwards.
            source = str(materialize_gguf(Path(spec.source), spec.gguf_file, cache_dir))
        self.tokenizer = AutoTokenizer.from_pretrained(source, revision=spec.revision)
        if self.tokenizer.eos_token_id is None:
            raise EncoderLoadError(f"{spec.model_id}: the tokenizer has no EOS token, which the recipe appends")
        if self.tokenizer.pad_token_id is None:
            # As the authors run it: pad with EOS, on the left.
            self.tokenizer.pad_token = self.tokenizer.eos_token
            self.tokenizer.padding_side = "left"
        self.model = AutoModel.from_pretrained(source, revision=spec.revision, dtype=self.dtype)
        self.model.to(self.device).eval()
        if spec.quantize == "int8":
            self.model = quantize_linear_int8(self.model, self.device)
        self._set_identity(int(self.model.config.hidden_size),
                           weights_identity(spec.source, self.model.config, spec.revision))

    @property
    def text_tokenizer(self) -> object:
        return self.tokenizer

    @property
    def window_tokens(self) -> int:
        return self.spec.max_length - 1  # the EOS appended after truncation takes the last position

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Token ids truncated to ``max_length - 1`` with EOS appended, padded, plus attention mask."""
        encoded = self.tokenizer(
            texts, max_length=self.spec.max_length - 1, truncation=True, padding=False, return_attention_mask=False
        )
        eos = self.tokenizer.eos_token_id
        ids = [row + [eos] for row in encoded["input_ids"]]
        return dict(self.tokenizer.pad({"input_ids": ids}, padding=True, return_attention_mask=True, return_tensors="pt"))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Pooled embeddings with gradients (training) or without (inside ``inference_mode``)."""
        mask = batch["attention_mask"].to(self.device)
        # Positions from the mask, so a left-padded row is embedded exactly as it would be alone.
        positions = (mask.long().cumsum(dim=1) - 1).clamp(min=0)
        hidden = self.model(
            input_ids=batch["input_ids"].to(self.device), attention_mask=mask, position_ids=positions
        ).last_hidden_state
        pooled = last_token_pool(hidden, mask)
        if self.spec.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return self.forward(self.tokenize(texts)).float().cpu().numpy()

    @property
    def module(self) -> torch.nn.Module:
        return self.model

    def save_weights(self, folder: Path) -> None:
        if hasattr(self.model, "merge_and_unload"):  # a LoRA-wrapped backbone (peft) is merged and saved plain
            self.model = self.model.merge_and_unload()
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)

