"""The read side every backend implements, once blocking (CLI, evaluation, training) and once async
(the proxy). Both answer the same three questions: what is this index, the ranked lists of some
sub-queries, and the documents of some ids (with facet counts over a ranked list, when asked).

Dense scores follow OpenSearch's Lucene conventions on every backend (``lucene_dense_score``), so
ranked lists are comparable across backends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from hybrid.index_meta import IndexMeta
from hybrid.retrieval.facets import FacetCounts, FacetQuery
from hybrid.retrieval.fusion import RankedList
from hybrid.retrieval.types import SideQuery, StoredDocument


class SearchBackend(Protocol):
    index: str

    def index_meta(self) -> IndexMeta:
        """The index's encoder fingerprint and filterable fields (``IndexNotFoundError`` if it is missing)."""

    def retrieve(self, queries: Sequence[SideQuery]) -> list[RankedList]:
        """One ranked list per sub-query, in order; OpenSearch answers them all in one ``_msearch``."""

    def fetch(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        """Stored title, text and metadata of the ids that exist."""

    def fetch_page(self, ids: Sequence[str], facets: FacetQuery | None) -> tuple[dict[str, StoredDocument], FacetCounts | None]:
        """``fetch(ids)``, and the facets counted over their candidates (OpenSearch: one ``_msearch``)."""

    def documents(self) -> Iterator[tuple[str, StoredDocument]]:
        """Every document (id order on the embedded index, scroll order on OpenSearch); for training data."""

    def sample(self, size: int, seed: int) -> list[tuple[str, StoredDocument]]:
        """Up to ``size`` documents drawn at random (the same ones for the same seed and index)."""

    def count(self) -> int: ...

    def close(self) -> None: ...


class AsyncSearchBackend(Protocol):
    index: str

    async def index_meta(self) -> IndexMeta: ...

    async def retrieve(self, queries: Sequence[SideQuery]) -> list[RankedList]: ...

    async def fetch(self, ids: Sequence[str]) -> dict[str, StoredDocument]: ...

    async def fetch_page(self, ids: Sequence[str],
                         facets: FacetQuery | None) -> tuple[dict[str, StoredDocument], FacetCounts | None]: ...

    async def count(self) -> int: ...
