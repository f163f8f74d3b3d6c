"""Pooling of token states into one vector per text."""

from __future__ import annotations

import torch


def last_token_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Hidden state of each row's last non-pad token (BMRetriever, E5-Mistral).

    Correct for left padding, right padding, and rows without padding: the position taken is the
    last 1 in each row of the attention mask, found from the right.

    Args:
        hidden: ``(batch, seq, dim)`` last-layer states.
        attention_mask: ``(batch, seq)`` with 1 for real tokens.
    """
    seq_len = attention_mask.shape[1]
    last = seq_len - 1 - attention_mask.flip(dims=[1]).int().argmax(dim=1)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the real tokens' states (sentence-transformers' mean pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
