"""Documents per ingest batch when none is given: small on a CPU, filling the encoder's batch on a GPU."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from hybrid.ingest.pipeline import CPU_BATCH_DOCUMENTS, IngestOptions, default_batch_size


def _encoder(device: str, batch_size: int) -> SimpleNamespace:
    return SimpleNamespace(device=torch.device(device), batch_size=batch_size)


def test_cpu_batches_stay_at_64_documents() -> None:
    assert default_batch_size(_encoder("cpu", 8)) == CPU_BATCH_DOCUMENTS == 64  # type: ignore[arg-type]


@pytest.mark.parametrize(("encoder_batch", "documents"), [(256, 512), (16, 64)])
def test_gpu_batches_are_twice_the_encoders_and_never_below_the_cpu_batch(encoder_batch: int, documents: int) -> None:
    assert default_batch_size(_encoder("cuda", encoder_batch)) == documents  # type: ignore[arg-type]


def test_a_given_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        IngestOptions(batch_size=0)
    assert IngestOptions().batch_size is None
