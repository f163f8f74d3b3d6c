"""The batch size an encoder picks on a GPU, from the model's shape and the free memory."""

from __future__ import annotations

from types import SimpleNamespace

from hybrid.encoders.device import (
    GPU_ACTIVATION_SHARE,
    GPU_MAX_BATCH,
    GPU_MIN_BATCH,
    activation_bytes_per_text,
    gpu_batch_size,
)

MINILM = SimpleNamespace(hidden_size=384, intermediate_size=1536, num_attention_heads=12)


def test_activation_bytes_follow_the_layer_shape() -> None:
    per_token = 8 * 384 + 3 * 1536
    assert activation_bytes_per_text(MINILM, 256, 2) == (256 * per_token + 12 * 256 * 256) * 2
    # No intermediate size in the config: the usual 4x hidden.
    bare = SimpleNamespace(hidden_size=64)
    assert activation_bytes_per_text(bare, 10, 4) == (10 * (8 * 64 + 3 * 256) + 100) * 4


def test_batch_is_the_largest_power_of_two_that_fits_its_share() -> None:
    per_text = 1_000_000
    free = int(40 * per_text / GPU_ACTIVATION_SHARE)  # 40 texts fit
    assert gpu_batch_size(free, per_text) == 32
    assert gpu_batch_size(int(64 * per_text / GPU_ACTIVATION_SHARE), per_text) == 64


def test_batch_stays_within_its_bounds() -> None:
    assert gpu_batch_size(10**15, 1000) == GPU_MAX_BATCH
    assert gpu_batch_size(0, 1000) == GPU_MIN_BATCH
