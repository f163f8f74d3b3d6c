"""Build an opensearch-py client from Settings (auth, TLS, timeouts, retries on 5xx)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from hybrid.settings import Settings

# Transport-level retries: connection errors, timeouts and these statuses (a restarting node).
RETRY_STATUSES = (502, 503, 504)


def client_options(settings: Settings) -> dict[str, object]:
    """Keyword arguments shared by the sync and async clients."""
    if not settings.opensearch_url:
        raise ValueError("no OpenSearch URL configured (set HYBRID_OPENSEARCH_URL or --opensearch-url)")
    options: dict[str, object] = {
        "hosts": [settings.opensearch_url],
        "timeout": settings.opensearch_timeout_s,
        "max_retries": 5,
        "retry_on_timeout": True,
        "retry_on_status": RETRY_STATUSES,
        "verify_certs": settings.opensearch_verify_certs,
        "ssl_show_warn": settings.opensearch_verify_certs,
    }
    if settings.opensearch_ca_certs:
        options["ca_certs"] = str(settings.opensearch_ca_certs)
    if settings.opensearch_user:
        password = settings.opensearch_password.get_secret_value() if settings.opensearch_password else ""
        options["http_auth"] = (settings.opensearch_user, password)
    if settings.opensearch_api_key:
        options["headers"] = {"Authorization": f"ApiKey {settings.opensearch_api_key.get_secret_value()}"}
    return options


def make_client(settings: Settings) -> OpenSearch:
    from opensearchpy import OpenSearch

    return OpenSearch(**client_options(settings))  # type: ignore[arg-type]
