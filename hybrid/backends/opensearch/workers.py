"""Several ingest workers, one index: the record they share in the cluster itself.

A split load (``hybrid ingest --worker I/N``) keeps small documents in the ``hybrid-workers`` index, all
written with ``op_type=create`` so that exactly one worker wins each step however they interleave:

- ``<alias>``: the load — worker count, encoder fingerprint, and once its creator published it, the
  physical index every worker writes to (and on ``--reindex`` the index it replaces). The first worker to
  create it creates the physical index; the others wait until it is published, then load into it.
- ``<alias>/done/<I>``: worker I wrote its whole share.
- ``<alias>/finish``: claimed by the worker that saw every share done; it restores the settings, marks
  the index ready, swaps the alias once, and deletes the load's documents.

A worker that dies reruns with the same command and finds its place: the creator (or finisher) of record
is recognised by its number and takes its step again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from hybrid.backends.base import BackendError
from hybrid.ingest.shares import WorkerShare

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

COORDINATION_INDEX = "hybrid-workers"
PUBLISH_WAIT_S = 600.0  # how long a worker waits for the creator to publish the index


class WorkerLoad:
    def __init__(self, client: OpenSearch, alias: str, share: WorkerShare, fingerprint: str) -> None:
        self.client = client
        self.alias = alias
        self.share = share
        self.fingerprint = fingerprint

    def _ensure_index(self) -> None:
        from opensearchpy.exceptions import RequestError

        if self.client.indices.exists(index=COORDINATION_INDEX):
            return
        try:
            self.client.indices.create(index=COORDINATION_INDEX, body={"settings": {
                "number_of_shards": 1, "auto_expand_replicas": "0-1"}, "mappings": {"dynamic": False}})
        except RequestError as exc:
            if "resource_already_exists" not in str(exc):
                raise

    def _get(self, doc_id: str) -> dict[str, object] | None:
        answer = self.client.get(index=COORDINATION_INDEX, id=doc_id, ignore=[404])
        return answer.get("_source") if answer.get("found") else None  # type: ignore[no-any-return]

    def _create(self, doc_id: str, body: dict[str, object]) -> bool:
        """Write ``body`` unless the document exists; True if this call wrote it."""
        from opensearchpy.exceptions import ConflictError

        try:
            self.client.create(index=COORDINATION_INDEX, id=doc_id, body=body, refresh="true")
            return True
        except ConflictError:
            return False

    def _check(self, load: dict[str, object]) -> None:
        if load.get("workers") != self.share.workers or load.get("fingerprint") != self.fingerprint:
            raise BackendError(
                f"another split load into {self.alias!r} is under way ({load.get('workers')} workers, encoder "
                f"fingerprint {load.get('fingerprint')}); finish it with its own command lines, or delete the "
                f"document {self.alias!r} of index {COORDINATION_INDEX!r} to abandon it")

    def join(self, create: Callable[[], tuple[str, str | None]], *, wait_s: float = PUBLISH_WAIT_S) -> tuple[str, str | None]:
        """The physical index of this load and the one it replaces; ``create`` makes them, called by
        the one worker that claims the load (or by that worker again when it reruns)."""
        self._ensure_index()
        claim = {"workers": self.share.workers, "fingerprint": self.fingerprint, "creator": self.share.worker,
                 "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._create(self.alias, claim)
        deadline = time.monotonic() + wait_s
        while True:
            load = self._get(self.alias)
            if load is None:  # finished and cleared between two reads: a new load starts
                self._create(self.alias, claim)
                load = self._get(self.alias) or claim
            self._check(load)
            if load.get("physical"):
                return str(load["physical"]), None if load.get("replaces") is None else str(load["replaces"])
            if load.get("creator") == self.share.worker:
                physical, replaces = create()
                self.client.index(index=COORDINATION_INDEX, id=self.alias, refresh="true",
                                  body={**load, "physical": physical, "replaces": replaces})
                return physical, replaces
            if time.monotonic() > deadline:
                raise BackendError(
                    f"worker {load.get('creator')} claimed the load into {self.alias!r} but did not create its index "
                    f"within {wait_s:g} s; rerun that worker")
            time.sleep(1.0)

    def _done_ids(self) -> list[str]:
        """Worker I's "share written" document is the I-th."""
        return [f"{self.alias}/done/{i}" for i in range(1, self.share.workers + 1)]

    def done(self) -> tuple[int, ...]:
        """Record this worker's share as written; the workers whose shares are not."""
        self.client.index(index=COORDINATION_INDEX, id=f"{self.alias}/done/{self.share.worker}", refresh="true",
                          body={"worker": self.share.worker})
        found = self.client.mget(index=COORDINATION_INDEX, body={"ids": self._done_ids()})["docs"]
        return tuple(i for i, doc in enumerate(found, start=1) if not doc.get("found"))

    def claim_finish(self) -> bool:
        """True for the one worker that publishes the index (the same one again if it reruns)."""
        if self._create(f"{self.alias}/finish", {"worker": self.share.worker}):
            return True
        holder = self._get(f"{self.alias}/finish")
        return holder is not None and holder.get("worker") == self.share.worker

    def clear(self) -> None:
        for doc_id in [self.alias, f"{self.alias}/finish", *self._done_ids()]:
            self.client.delete(index=COORDINATION_INDEX, id=doc_id, ignore=[404], refresh="true")
