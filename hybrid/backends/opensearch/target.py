"""Ingest into OpenSearch through an alias, so a re-ingest builds a new index and swaps atomically.

Layout: the name users give (``--index scifact``) is an alias; the data lives in a physical index
``scifact-<timestamp>``. A first ingest creates both at once. ``reindex`` builds a new physical
index and moves the alias in one ``_aliases`` call at the end, deleting the old index only after
the swap succeeded. During a load the index has ``refresh_interval: -1`` and zero replicas; the
configured values come back at the end, and after a failure too.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from hybrid.backends.base import (
    OPENSEARCH_COMPRESSIONS,
    BackendError,
    BackendUnavailableError,
    Finished,
    IndexOptions,
    check_compression,
    check_index_name,
)
from hybrid.backends.opensearch.client import MAX_BACKOFF_S, backoff_s, where
from hybrid.backends.opensearch.errors import translated
from hybrid.backends.opensearch.mapping import document_source, index_body, meta_block, meta_mapping
from hybrid.backends.opensearch.workers import WorkerLoad
from hybrid.documents import Document, Reject
from hybrid.index_meta import IndexMeta, IndexMetaError, LoadState
from hybrid.passages import DocumentVectors
from hybrid.recipes.fingerprint import check_fingerprint

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from hybrid.ingest.shares import WorkerShare


def transient(status: int) -> bool:
    """A bulk item failed because of the cluster (429, 5xx), not because of the document (4xx)."""
    return status == 429 or status >= 500


class OpenSearchTarget:
    """``IngestTarget`` for an OpenSearch cluster (client injected)."""

    def __init__(
        self,
        client: OpenSearch,
        *,
        chunk_docs: int = 500,
        chunk_bytes: int = 20 * 2**20,
        max_retries: int = 6,
        initial_backoff_s: float = 0.5,
        retry_budget_s: float = 120.0,
    ) -> None:
        self.client = client
        self.where = where(client)
        self.chunk_docs = chunk_docs
        self.chunk_bytes = chunk_bytes
        self.max_retries = max_retries
        self.initial_backoff_s = initial_backoff_s
        self.retry_budget_s = retry_budget_s  # per batch: how long items the cluster could not take are retried
        self.alias = ""
        self.physical = ""
        self.replaces: str | None = None
        self._meta: IndexMeta | None = None
        self._options = IndexOptions()
        self._load: WorkerLoad | None = None  # set when this run is one worker of a split load

    @property
    def index(self) -> str | None:
        """The index (alias) being loaded, named in refusals."""
        return self.alias or None

    @property
    def description(self) -> str:
        return f"index {self.physical or '?'} (alias {self.alias or '?'}) on {self.where}"

    # -- opening ---------------------------------------------------------------------------
    def _current(self, name: str) -> str | None:
        """The physical index behind ``name`` (an alias or a concrete index), or None."""
        if self.client.indices.exists_alias(name=name):
            indices = sorted(self.client.indices.get_alias(name=name))
            if len(indices) != 1:
                raise BackendError(f"alias {name!r} points at {len(indices)} indices ({indices}); expected one")
            return indices[0]
        if self.client.indices.exists(index=name):
            return name
        return None

    def _record(self, state: LoadState) -> IndexMeta:
        if self._meta is None:
            raise BackendError("the OpenSearch target is not open")
        return dataclasses.replace(self._meta, state=state, replicas=self._options.replicas,
                                   refresh_interval=self._options.refresh_interval)

    def _create(self, name: str, *, with_alias: bool) -> str:
        physical = f"{name}-{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S%f')}"
        body = index_body(self._record("loading"), self._options)
        if with_alias:
            body["aliases"] = {name: {}}
        self.client.indices.create(index=physical, body=body)
        return physical

    def _pending_reindex(self, name: str, current: str) -> tuple[str, IndexMeta] | None:
        """A physical index an interrupted ``reindex`` left in state loading, for the same encoder, and its record."""
        fingerprint = self._record("loading").fingerprint
        candidates = self.client.indices.get(index=f"{name}-*", ignore_unavailable=True, allow_no_indices=True)
        for index in sorted(candidates, reverse=True):
            try:
                meta = IndexMeta.from_block(meta_block(candidates[index]["mappings"]), index)
            except IndexMetaError:
                continue
            if index != current and meta.state == "loading" and meta.fingerprint.id == fingerprint.id:
                return str(index), meta
        return None

    @translated
    def open(self, name: str, meta: IndexMeta, options: IndexOptions, *, reindex: bool,
             worker: WorkerShare | None = None) -> None:
        check_compression(options.vector_compression, OPENSEARCH_COMPRESSIONS, "OpenSearch")
        meta = dataclasses.replace(meta, vector_compression=options.vector_compression)
        self.alias, self._meta, self._options = check_index_name(name), meta, options
        if worker is None:
            self._open_alone(name, reindex=reindex)
        else:
            self._load = WorkerLoad(self.client, self.alias, worker, meta.fingerprint.id)
            physical, self.replaces = self._load.join(lambda: self._create_for_workers(name, reindex=reindex))
            if self.physical != physical:  # another worker created it
                self._adopt(physical, self._stored(physical))
        self.client.indices.put_settings(
            index=self.physical, body={"index": {"refresh_interval": "-1", "number_of_replicas": 0}}
        )

    def _stored(self, physical: str) -> IndexMeta:
        block = meta_block(self.client.indices.get_mapping(index=physical)[physical]["mappings"])
        if block is None:
            raise BackendError(f"index {physical!r} exists but was not built by hybrid; choose another --index")
        return IndexMeta.from_block(block, physical)

    def _open_alone(self, name: str, *, reindex: bool) -> None:
        assert self._meta is not None
        current = self._current(name)
        if current is None:
            self.physical = self._create(name, with_alias=True)
            return
        stored = self._stored(current)
        if reindex:
            self.replaces = current
            self._meta = self._meta.rebuilding(stored)
            pending = self._pending_reindex(name, current)
            self.physical = self._create(name, with_alias=False) if pending is None else self._adopt(*pending)
        else:
            check_fingerprint(stored.fingerprint, self._meta.fingerprint, index=name)
            self.physical = self._adopt(current, stored)

    def _create_for_workers(self, name: str, *, reindex: bool) -> tuple[str, str | None]:
        """The claiming worker opens as a lone ingest would; the others then load into what it made."""
        self._open_alone(name, reindex=reindex)
        return self.physical, self.replaces

    def _adopt(self, physical: str, stored: IndexMeta) -> str:
        """Load into an existing index (``IndexMeta.continuing``)."""
        assert self._meta is not None
        self._meta = self._meta.continuing(stored)
        self.physical = physical
        self._set_state("loading")
        return physical

    def _set_state(self, state: LoadState) -> None:
        self.client.indices.put_mapping(index=self.physical, body={"_meta": meta_mapping(self._record(state))})

    # -- writing ---------------------------------------------------------------------------
    @translated
    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        response = self.client.mget(index=self.physical, body={"ids": list(ids)}, _source=False)
        return {d["_id"] for d in response["docs"] if d.get("found")}

    @property
    def meta(self) -> IndexMeta:
        if self._meta is None:
            raise BackendError("the OpenSearch target is not open")
        return self._meta

    def _actions(self, docs: Sequence[Document], vectors: Sequence[DocumentVectors]) -> Iterator[dict[str, object]]:
        passages = self.meta.passages is not None
        for doc, doc_vectors in zip(docs, vectors):
            yield {
                "_op_type": "index",
                "_index": self.physical,
                "_id": doc.id,
                "_source": document_source(doc.id, doc.title, doc.text, doc.metadata, doc_vectors, passages=passages),
            }

    @translated
    def write(self, docs: Sequence[Document], vectors: Sequence[DocumentVectors]) -> list[Reject]:
        """Bulk in chunks by count and bytes. A document the cluster refuses for what it is (a mapping
        error, 4xx) is a reject; one it could not take just now (429, 5xx: a shard without its primary, a
        node going down) is not the document's fault and is sent again with exponential backoff and
        jitter until ``retry_budget_s`` is spent, then the run stops with one error (a rerun resumes).
        The client itself retries connection errors, timeouts and 502/503/504 answers to a whole request."""
        positions = {d.id: d.position for d in docs}
        pending = {str(a["_id"]): a for a in self._actions(docs, vectors)}
        rejects: list[Reject] = []
        deadline = time.monotonic() + self.retry_budget_s
        attempt = 0
        while True:
            again: dict[str, str] = {}
            for doc_id, status, reason in self._bulk(list(pending.values())):
                if transient(status):
                    again[doc_id] = f"{status}: {reason}"
                else:
                    rejects.append(Reject(positions.get(doc_id, "?"), f"OpenSearch refused it: {reason}", doc_id))
            if not again:
                return rejects
            left = deadline - time.monotonic()
            if left <= 0:
                first = next(iter(again.values()))
                raise BackendUnavailableError(
                    f"{self.where} could not take {len(again)} documents after {self.retry_budget_s:g} s of "
                    f"retries (e.g. {first}); rerun the same command to resume")
            time.sleep(min(left, backoff_s(attempt, self.initial_backoff_s)))
            attempt += 1
            pending = {doc_id: pending[doc_id] for doc_id in again}

    def _bulk(self, actions: list[dict[str, object]]) -> Iterator[tuple[str, int, object]]:
        """``(id, status, reason)`` of every item that failed (429 item rejections already retried by
        opensearch-py's helper, with backoff)."""
        from opensearchpy import helpers

        for ok, item in helpers.streaming_bulk(
            self.client, actions, chunk_size=self.chunk_docs, max_chunk_bytes=self.chunk_bytes,
            max_retries=self.max_retries, initial_backoff=self.initial_backoff_s, max_backoff=MAX_BACKOFF_S,
            raise_on_error=False, yield_ok=False,
        ):
            if not ok:
                info = item.get("index", {})
                error = info.get("error")
                reason = error.get("reason", error) if isinstance(error, dict) else error
                yield str(info.get("_id")), int(info.get("status") or 0), reason

    # -- finishing -------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        self.client.indices.put_settings(
            index=self.physical,
            body={"index": {"refresh_interval": self._options.refresh_interval,
                            "number_of_replicas": self._options.replicas}},
        )

    @translated
    def finish(self, *, force_merge: bool = False) -> Finished:
        self.client.indices.refresh(index=self.physical)
        if self._load is not None:
            waiting = self._load.done()
            if waiting or not self._load.claim_finish():
                return Finished(waiting_for=waiting, made_live=False)
        self._restore_settings()
        if force_merge:
            self.client.indices.forcemerge(index=self.physical, max_num_segments=1, request_timeout=3600)
        self._set_state("ready")
        if self.replaces is not None and self.replaces != self.physical:
            actions = [{"add": {"index": self.physical, "alias": self.alias}}]
            if self.replaces != self.alias:
                actions.insert(0, {"remove": {"index": self.replaces, "alias": self.alias}})
                self.client.indices.update_aliases(body={"actions": actions})
                self.client.indices.delete(index=self.replaces)
            else:  # a concrete index of that name: it must go before the alias can take its name
                self.client.indices.delete(index=self.replaces)
                self.client.indices.update_aliases(body={"actions": actions})
        if self._load is not None:
            self._load.clear()
        return Finished()

    def abort(self) -> None:
        if self._load is not None:
            return  # the other workers are still loading: the last one to finish restores the settings
        deadline = time.monotonic() + 10
        while True:
            try:
                self._restore_settings()
                return
            except Exception:  # noqa: BLE001 - best effort while the cluster may be down
                if time.monotonic() > deadline:
                    return
                time.sleep(2)

    @translated
    def count(self) -> int:
        self.client.indices.refresh(index=self.physical)
        return int(self.client.count(index=self.physical)["count"])

    def close(self) -> None:
        """The client belongs to the backend that made this target; it closes it."""
