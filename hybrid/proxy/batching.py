"""Micro-batching of query embeddings across concurrent requests.

Continuous batching: a request that finds the model idle and nobody waiting is embedded at once, on
its own (no queue, no hand-off to another task); requests that arrive while the model is busy wait
together and are embedded in one call as soon as it is free (up to ``max_batch``, grouped by
instruction, sorted by length inside the encoder). ``wait_ms`` > 0 additionally waits that long for
company. Model calls run on one dedicated thread, never on the event loop. With batching off, each
request makes its own model call on that same thread (the comparison the load benchmark makes).

Repeated queries are answered from an LRU cache of embeddings (``cache_size`` entries; 0: none): a
search page re-sends its query for every page, facet click and mode switch.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from hybrid.recipes.fingerprint import Fingerprint

if TYPE_CHECKING:
    from hybrid.encoders import Encoder
    from hybrid.proxy.observability import ProxyMetrics

_Item = tuple[str, str | None, "asyncio.Future[np.ndarray]", float]  # text, instruction, result, queued at


class QueryEmbedder:
    def __init__(self, encoder: Encoder, *, enabled: bool = True, wait_ms: float = 0.0, max_batch: int = 64,
                 cache_size: int = 0, metrics: ProxyMetrics | None = None) -> None:
        self.encoder = encoder
        self.metrics = metrics
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str | None], np.ndarray] = OrderedDict()
        self.enabled = enabled
        self.wait_s = wait_ms / 1000
        self.max_batch = max_batch
        self.batches = 0  # model calls made (for tests and the benchmark)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hybrid-encoder")
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task[None] | None = None
        self._idle: asyncio.Event | None = None  # set while no model call runs
        self._running = 0  # model calls submitted and not finished

    @property
    def fingerprint(self) -> Fingerprint:
        return self.encoder.fingerprint

    def _encode(self, texts: list[str], instruction: str | None, queued_at: list[float]) -> np.ndarray:
        if self.metrics is not None:
            started = time.perf_counter()
            self.metrics.embedded(len(texts), [started - t for t in queued_at])
        self.batches += 1
        return self.encoder.encode_queries(texts, instruction=instruction, show_progress=False)

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._queue = asyncio.Queue()
            self._idle = asyncio.Event()
            self._idle.set()
            self._task = asyncio.create_task(self._run(), name="hybrid-query-batcher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def embed(self, text: str, instruction: str | None) -> np.ndarray:
        """The query's embedding (read-only: cached vectors are shared)."""
        key = (text, instruction)
        if self.cache_size > 0:
            cached = self._cache.get(key)
            if self.metrics is not None:
                self.metrics.cache_lookup(cached is not None)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        vector = await self._embed(text, instruction)
        vector.setflags(write=False)
        if self.cache_size > 0:
            self._cache[key] = vector
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    async def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passage embeddings (snippet sentences) on the model thread, outside the query batches."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, lambda: self.encoder.encode_passages(texts, show_progress=False))

    async def _embed(self, text: str, instruction: str | None) -> np.ndarray:
        loop = asyncio.get_running_loop()
        queued_at = time.perf_counter()
        if self._queue is None or self._idle is None:  # batching off
            vectors = await loop.run_in_executor(self._executor, self._encode, [text], instruction, [queued_at])
            return vectors[0]
        if self._idle.is_set() and self._queue.empty():  # alone: embed now, no hand-off
            return (await self._call([text], instruction, [queued_at]))[0]
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._queue.put_nowait((text, instruction, future, queued_at))
        return await future

    async def _call(self, texts: list[str], instruction: str | None, queued_at: list[float]) -> np.ndarray:
        """One model call; the model counts as busy from before the first await until it returns."""
        assert self._idle is not None
        self._running += 1
        self._idle.clear()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._encode, texts, instruction,
                                                                     queued_at)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def _collect(self) -> list[_Item]:
        assert self._queue is not None and self._idle is not None
        batch = [await self._queue.get()]
        await self._idle.wait()  # whoever arrives while the model is busy joins this batch
        while len(batch) < self.max_batch and not self._queue.empty():  # everything already waiting
            batch.append(self._queue.get_nowait())
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while len(batch) < self.max_batch and self.wait_s > 0:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            groups: dict[str | None, list[_Item]] = {}
            for item in batch:
                groups.setdefault(item[1], []).append(item)
            for instruction, items in groups.items():
                live = [item for item in items if not item[2].done()]  # a cancelled request needs no vector
                if not live:
                    continue
                try:
                    vectors = await self._call([item[0] for item in live], instruction, [item[3] for item in live])
                except Exception as exc:  # noqa: BLE001 - delivered to every waiting request
                    for _, _, future, _ in live:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future, _), vector in zip(live, vectors):
                    if not future.done():
                        future.set_result(vector)
