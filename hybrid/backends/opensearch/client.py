"""opensearch-py clients from Settings (auth, TLS, timeouts, retries): a blocking one for the CLI,
ingest and training, and an async one for the proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opensearchpy import AsyncOpenSearch, OpenSearch

    from hybrid.settings import Settings

# Transport-level retries: connection errors, timeouts and these statuses (a restarting node).
RETRY_STATUSES = (502, 503, 504)


def client_options(settings: Settings) -> dict[str, object]:
    """Keyword arguments shared by the blocking and async clients."""
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


def make_async_client(settings: Settings) -> AsyncOpenSearch:
    """The proxy's client: it fails fast (503 within ``proxy_timeout_s``) rather than retrying behind
    the caller's back."""
    from opensearchpy import AsyncOpenSearch

    options = client_options(settings)
    options.update(timeout=settings.proxy_timeout_s, max_retries=0, retry_on_timeout=False)
    return AsyncOpenSearch(**options)  # type: ignore[arg-type]


def public_url(url: str) -> str:
    """``url`` without the user and password it may carry."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def where(client: object) -> str:
    """``OpenSearch at SCHEME://HOST:PORT`` of a client, for messages (no credentials)."""
    hosts = getattr(getattr(client, "transport", None), "hosts", None) or [{}]
    host = hosts[0]
    scheme = "https" if host.get("use_ssl") else "http"
    return f"OpenSearch at {scheme}://{host.get('host', '?')}:{host.get('port', '?')}"
