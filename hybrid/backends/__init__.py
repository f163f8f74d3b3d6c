"""Backends: OpenSearch (the product's engine) and an embedded on-disk store (laptops, the quickstart,
fast tests), behind the protocols of ``base`` (the ``Backend`` object, ``IngestTarget``) and
``hybrid.retrieval.backend`` (``SearchBackend`` and ``AsyncSearchBackend``).

``open_backend(settings)`` is the one place where the choice between them is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybrid.backends.base import Backend

if TYPE_CHECKING:
    from hybrid.settings import Settings


def open_backend(settings: Settings) -> Backend:
    """OpenSearch when a URL is configured, else the embedded store under ``settings.embedded_dir``."""
    if settings.opensearch_url:
        from hybrid.backends.opensearch.backend import OpenSearchBackend

        return OpenSearchBackend(settings)
    from hybrid.backends.embedded.backend import EmbeddedBackend

    return EmbeddedBackend(settings.embedded_dir)


__all__ = ["Backend", "open_backend"]
