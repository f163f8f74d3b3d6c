from __future__ import annotations

import asyncio

import numpy as np
import pytest

from hybrid.encoders import load_encoder
from hybrid.proxy.batching import QueryEmbedder
from tests.unit.encoders.tiny_models import save_tiny_gpt_neox

QUERIES = [f"protein gene study {i} mice" for i in range(24)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_encoder(str(save_tiny_gpt_neox(tmp_path_factory.mktemp("m"))), device="cpu", precision="fp32", max_length=32)


async def _embed_all(embedder: QueryEmbedder, instruction_of) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    await embedder.start()
    try:
        return await asyncio.gather(*(embedder.embed(q, instruction_of(i)) for i, q in enumerate(QUERIES)))
    finally:
        await embedder.close()


@pytest.mark.parametrize(("enabled", "wait_ms"), [(True, 0.0), (True, 20.0), (False, 0.0)])
def test_concurrent_queries_share_model_calls(tiny, enabled: bool, wait_ms: float) -> None:  # type: ignore[no-untyped-def]
    embedder = QueryEmbedder(tiny, enabled=enabled, wait_ms=wait_ms)
    vectors = asyncio.run(_embed_all(embedder, lambda i: "scifact" if i % 2 else "nfcorpus"))
    for i, (query, vector) in enumerate(zip(QUERIES, vectors)):
        alone = tiny.encode_queries([query], instruction="scifact" if i % 2 else "nfcorpus")[0]
        np.testing.assert_allclose(vector, alone, rtol=1e-4, atol=1e-5)
    if enabled:
        assert embedder.batches <= 4  # two instruction groups per window, not one call per query
    else:
        assert embedder.batches == len(QUERIES)


def test_model_errors_reach_every_waiting_request(tiny) -> None:  # type: ignore[no-untyped-def]
    embedder = QueryEmbedder(tiny, wait_ms=20)

    async def run() -> list[object]:
        await embedder.start()
        try:
            return await asyncio.gather(*(embedder.embed(q, "  ") for q in QUERIES[:3]), return_exceptions=True)
        finally:
            await embedder.close()

    results = asyncio.run(run())
    assert all(isinstance(r, ValueError) and "instruction is empty" in str(r) for r in results)


def test_a_lone_request_is_embedded_at_once(tiny) -> None:  # type: ignore[no-untyped-def]
    """Requests one after another never wait for company: one model call each, nothing queued."""
    embedder = QueryEmbedder(tiny)

    async def run() -> list[np.ndarray]:
        await embedder.start()
        try:
            out = []
            for query in QUERIES[:5]:
                out.append(await embedder.embed(query, None))
                assert embedder._queue is not None and embedder._queue.empty()
            return out
        finally:
            await embedder.close()

    vectors = asyncio.run(run())
    assert embedder.batches == 5
    np.testing.assert_allclose(np.stack(vectors), tiny.encode_queries(QUERIES[:5]), rtol=1e-4, atol=1e-5)


def test_requests_arriving_while_the_model_is_busy_share_the_next_call(tiny) -> None:  # type: ignore[no-untyped-def]
    embedder = QueryEmbedder(tiny)

    async def run() -> None:
        await embedder.start()
        try:
            first = asyncio.create_task(embedder.embed(QUERIES[0], None))
            await asyncio.sleep(0)  # the first one is alone: it is being embedded now
            rest = await asyncio.gather(*(embedder.embed(q, None) for q in QUERIES[1:]))
            await first
            assert len(rest) == len(QUERIES) - 1
        finally:
            await embedder.close()

    asyncio.run(run())
    assert embedder.batches == 2  # the lone first call, then everyone who arrived meanwhile
