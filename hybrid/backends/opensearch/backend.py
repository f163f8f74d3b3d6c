"""``Backend`` for an OpenSearch cluster: clients made on first use (the blocking one for the CLI,
ingest and training; the async one for the proxy), the index catalog, readiness."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hybrid.backends.base import BackendError, IndexEntry, check_index_name
from hybrid.backends.opensearch.client import make_async_client, make_client, public_urls
from hybrid.backends.opensearch.compat import PLUGINS_FILTER, check_server
from hybrid.backends.opensearch.errors import translated
from hybrid.backends.opensearch.mapping import index_meta_of, meta_mapping
from hybrid.backends.opensearch.queries import catalog, entries

if TYPE_CHECKING:
    from opensearchpy import AsyncOpenSearch, OpenSearch

    from hybrid.backends.opensearch.async_search import AsyncOpenSearchSearch
    from hybrid.backends.opensearch.search import OpenSearchSearch
    from hybrid.backends.opensearch.target import OpenSearchTarget
    from hybrid.settings import Settings

# Listing every index: mappings and aliases of all of them, then documents per physical index from one
# search's terms aggregation on _index. Not _cat's docs.count: it counts Lucene documents, and each
# passage of an index of passages is one (nested) beside its document.
def _count_search(listed: list[tuple[str, str, object]]) -> dict[str, object] | None:
    """The ``search`` arguments counting the documents of every listed physical index (None: none listed)."""
    physical = sorted({physical for _, physical, _ in listed})
    if not physical:
        return None
    body = {"size": 0, "track_total_hits": False, "query": {"match_all": {}},
            "aggs": {"per_index": {"terms": {"field": "_index", "size": len(physical)}}}}
    return {"index": ",".join(physical), "body": body, "ignore_unavailable": True}


def _counts(answer: Mapping[str, object]) -> dict[str, int]:
    buckets = answer.get("aggregations", {}).get("per_index", {}).get("buckets", [])  # type: ignore[attr-defined]
    return {str(b["key"]): int(b["doc_count"]) for b in buckets}


class OpenSearchBackend:
    kind = "opensearch"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.where = f"OpenSearch at {public_urls(settings.opensearch_url)}"
        self._client: OpenSearch | None = None
        self._async_client: AsyncOpenSearch | None = None
        self._async_checked = False

    @property
    def description(self) -> str:
        return self.where

    @property
    def client(self) -> OpenSearch:
        """The blocking client, made on first use after checking the cluster is one hybrid supports."""
        if self._client is None:
            client = make_client(self.settings)
            self._check(client)
            self._client = client
        return self._client

    @property
    def _checkable(self) -> bool:
        # Amazon OpenSearch Serverless answers neither GET / nor node information.
        return not (self.settings.opensearch_aws_region and self.settings.opensearch_aws_service == "aoss")

    @translated
    def _check(self, client: OpenSearch) -> None:
        if self._checkable:
            check_server(client.info(), client.nodes.info(metric="plugins", filter_path=PLUGINS_FILTER), self.where)

    async def _check_server_async(self) -> None:
        client = self.async_client
        check_server(await client.info(), await client.nodes.info(metric="plugins", filter_path=PLUGINS_FILTER),
                     self.where)

    async def _check_async(self) -> None:
        """The same check for the proxy's client, once, before its first index is read."""
        if not self._async_checked and self._checkable:
            await self._check_server_async()
        self._async_checked = True

    @property
    def async_client(self) -> AsyncOpenSearch:
        if self._async_client is None:
            self._async_client = make_async_client(self.settings)
        return self._async_client

    def search(self, index: str) -> OpenSearchSearch:
        from hybrid.backends.opensearch.search import OpenSearchSearch

        name = check_index_name(index)  # a bad name is refused before any request
        return OpenSearchSearch(self.client, name)

    def async_search(self, index: str) -> AsyncOpenSearchSearch:
        from hybrid.backends.opensearch.async_search import AsyncOpenSearchSearch

        name = check_index_name(index)
        return AsyncOpenSearchSearch(self.async_client, name, checked=self._check_async)

    def ingest_target(self) -> OpenSearchTarget:
        from hybrid.backends.opensearch.target import OpenSearchTarget

        return OpenSearchTarget(self.client, retry_budget_s=self.settings.opensearch_retry_budget_s)

    @translated
    def update_record(self, index: str, changes: Mapping[str, object]) -> None:
        """Change fields of the index's record (the physical index behind the alias)."""
        answer = self.client.indices.get_mapping(index=check_index_name(index))
        physical = next(iter(answer))
        meta = dataclasses.replace(index_meta_of(answer, index), **changes)
        self.client.indices.put_mapping(index=physical, body={"_meta": meta_mapping(meta)})

    @translated
    def indices(self) -> list[IndexEntry]:
        client = self.client
        listed = catalog(client.indices.get_mapping(index="*"), client.indices.get_alias(index="*"))
        search = _count_search(listed)  # type: ignore[arg-type]
        return entries(listed, _counts(client.search(**search))) if search else []

    @translated
    async def async_indices(self) -> list[IndexEntry]:
        client = self.async_client
        listed = catalog(await client.indices.get_mapping(index="*"), await client.indices.get_alias(index="*"))
        search = _count_search(listed)  # type: ignore[arg-type]
        return entries(listed, _counts(await client.search(**search))) if search else []

    async def problem(self) -> str | None:
        """Why the proxy cannot serve from this cluster now (None: it can)."""
        try:
            if not await self.async_client.ping():
                return f"{self.where} does not answer"
            if self._checkable:
                await self._check_server_async()
        except BackendError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return f"{self.where} is unreachable ({type(exc).__name__})"
        return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.close()
            self._async_client = None
        self.close()
