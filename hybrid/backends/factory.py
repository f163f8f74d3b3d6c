"""Pick the backend the settings name: OpenSearch when a URL is configured, else the embedded store."""

from __future__ import annotations

from hybrid.backends.base import IngestTarget
from hybrid.retrieval.types import SearchBackend
from hybrid.settings import Settings


def ingest_target(settings: Settings) -> IngestTarget:
    if settings.opensearch_url:
        from hybrid.backends.opensearch.client import make_client
        from hybrid.backends.opensearch.target import OpenSearchTarget

        return OpenSearchTarget(make_client(settings))
    from hybrid.backends.embedded.target import EmbeddedTarget

    return EmbeddedTarget(settings.embedded_dir)


def search_backend(settings: Settings, index: str) -> SearchBackend:
    if settings.opensearch_url:
        from hybrid.backends.opensearch.client import make_client
        from hybrid.backends.opensearch.search import OpenSearchSearch

        return OpenSearchSearch(make_client(settings), index)
    from hybrid.backends.embedded.search import EmbeddedSearch

    return EmbeddedSearch(settings.embedded_dir, index)
