"""Cross-encoders: a query and a passage read together by one transformer, one relevance score out.

Anything ``AutoModelForSequenceClassification`` loads serves: hub names (``ncbi/MedCPT-Cross-Encoder``,
``cross-encoder/ms-marco-MiniLM-L-6-v2``) where a hub is reachable, local folders, and the folders
`hybrid train --cross-encoder` writes (which carry ``hybrid-reranker.json``): encoder-only models and
decoder LMs with a score head (how each reads a pair: ``inputs.py``). A model with one output is scored
by its logit; one with two classes by the log-odds of the second ("relevant").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hybrid.encoders.device import pick_device, pick_dtype
from hybrid.recipes.errors import EncoderError
from hybrid.recipes.fingerprint import weights_digest
from hybrid.rerank.inputs import PairReading, encode_pairs, prepare_reading

RERANKER_FILE = "hybrid-reranker.json"  # what `hybrid train --cross-encoder` records beside the weights
DEFAULT_MAX_LENGTH = 512
DEFAULT_BATCH_SIZE = 16


class RerankerLoadError(EncoderError):
    """A cross-encoder could not be loaded; the message says what was tried."""


@dataclass
class CrossEncoder:
    name: str
    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    max_length: int
    batch_size: int
    fingerprint: str  # weights identity: a local folder's weights digest, a hub name's name and revision
    reading: PairReading = "pair"

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """One relevance score per passage (higher is more relevant), batched by similar length."""
        out = np.zeros(len(passages), dtype=np.float32)
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                out[chunk] = self._logits([query] * len(chunk), [passages[i] for i in chunk]).float().cpu().numpy()
        return out

    def _logits(self, queries: list[str], passages: list[str]) -> torch.Tensor:
        batch = encode_pairs(self.tokenizer, queries, passages, self.max_length, self.reading)
        logits = self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits
        return logits[:, 0] if logits.shape[-1] == 1 else logits[:, -1] - logits[:, 0]


def load_reranker(name_or_path: str, *, device: str | None = None, max_length: int | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE, dtype: torch.dtype | None = None) -> CrossEncoder:
    """A cross-encoder by hub name or folder, in eval mode on ``device`` (default CUDA when present)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(name_or_path).expanduser()
    local = folder.is_dir()
    if not local and (name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1):
        raise RerankerLoadError(f"cross-encoder {name_or_path!r}: no such folder")
    recorded = json.loads((folder / RERANKER_FILE).read_text()) if local and (folder / RERANKER_FILE).is_file() else {}
    torch_device = pick_device(device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder) if local else name_or_path)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(folder) if local else name_or_path, dtype=dtype or pick_dtype(torch_device))
    except Exception as exc:  # transformers raises OSError, ValueError … for what it cannot load
        where = "folder" if local else "hub name (is a hub reachable? HF_HUB_OFFLINE set?)"
        raise RerankerLoadError(f"cannot load cross-encoder {name_or_path!r} as a {where}: "
                                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    if model.config.num_labels not in (1, 2):
        raise RerankerLoadError(f"{name_or_path!r} has {model.config.num_labels} output classes; a cross-encoder "
                                "has one score (or two classes: not relevant, relevant)")
    reading = prepare_reading(tokenizer, model, recorded.get("reading"))
    model.to(torch_device).eval()
    if local:
        fingerprint = f"weights:{weights_digest(folder)}"
    else:
        fingerprint = f"hub:{name_or_path}@{getattr(model.config, '_commit_hash', None) or 'unknown'}"
    limit = max_length or int(recorded.get("max_length") or 0) or min(
        DEFAULT_MAX_LENGTH, getattr(model.config, "max_position_embeddings", DEFAULT_MAX_LENGTH))
    name = str(recorded.get("name") or name_or_path)
    return CrossEncoder(name, model, tokenizer, torch_device, limit, batch_size, short(fingerprint), reading)


def short(fingerprint: str) -> str:
    """A fingerprint as shown to people: its kind and 16 hex digits."""
    kind, _, rest = fingerprint.partition(":")
    return f"{kind}:{hashlib.sha256(rest.encode()).hexdigest()[:16]}"
