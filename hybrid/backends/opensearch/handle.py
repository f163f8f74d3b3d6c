"""What the blocking and the async OpenSearch search backends share: the index they search, where it
is (for messages), and its record, read once."""

from __future__ import annotations

from collections.abc import Mapping

from hybrid.backends.opensearch.client import where
from hybrid.backends.opensearch.mapping import index_meta_of
from hybrid.index_meta import IndexMeta


class IndexHandle:
    def __init__(self, client: object, index: str) -> None:
        self.client = client
        self.index = index
        self.where = where(client)
        self._meta: IndexMeta | None = None

    def _remember(self, mapping_response: Mapping[str, object]) -> IndexMeta:
        self._meta = index_meta_of(mapping_response, self.index)
        return self._meta
