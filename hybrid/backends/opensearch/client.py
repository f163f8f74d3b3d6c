"""opensearch-py clients from Settings (hosts, auth, TLS, timeouts, retries): a blocking one for the
CLI, ingest and training, and an async one for the proxy.

Retries: a request that fails to connect goes to the next host at once (a cluster's other nodes); an
answer of 429 or 502/503/504, or a timeout, is retried by the blocking client with exponential backoff
and full jitter until ``opensearch_request_retry_budget_s`` is spent. The proxy's client fails over
between hosts but never waits: its caller gets a 503 within ``proxy_timeout_s``.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opensearchpy import AsyncOpenSearch, OpenSearch

    from hybrid.settings import Settings

# Answers that mean "the cluster, not the request": overloaded (429) or a node going away (502-504).
RETRY_STATUSES = (429, 502, 503, 504)
MAX_BACKOFF_S = 30.0
INITIAL_BACKOFF_S = 0.25


def backoff_s(attempt: int, initial_s: float) -> float:
    """Exponential backoff with full jitter: a random wait up to ``initial * 2**attempt`` (capped), so
    clients that failed together do not retry together."""
    return random.uniform(0, min(MAX_BACKOFF_S, initial_s * 2**attempt))


def hosts_of(url: str | None) -> list[str]:
    """The comma-separated URLs of ``HYBRID_OPENSEARCH_URL`` (one per node the client may use)."""
    hosts = [part.strip() for part in (url or "").split(",") if part.strip()]
    if not hosts:
        raise ValueError("no OpenSearch URL configured (set HYBRID_OPENSEARCH_URL or --opensearch-url)")
    return hosts


def _aws_auth(settings: Settings, *, asynchronous: bool) -> object:
    """A SigV4 signer for Amazon OpenSearch Service (``es``) or Serverless (``aoss``) with the credentials
    botocore finds (environment, shared files, instance or container role)."""
    try:
        import botocore.session
    except ImportError:
        raise ValueError("AWS SigV4 needs botocore: pip install botocore") from None
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise ValueError("HYBRID_OPENSEARCH_AWS_REGION is set but botocore found no AWS credentials "
                         "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, or a role)")
    region, service = settings.opensearch_aws_region, settings.opensearch_aws_service
    if asynchronous:
        from opensearchpy import AWSV4SignerAsyncAuth

        return AWSV4SignerAsyncAuth(credentials, region, service)
    from opensearchpy import Urllib3AWSV4SignerAuth

    return Urllib3AWSV4SignerAuth(credentials, region, service)


def client_options(settings: Settings, *, asynchronous: bool = False) -> dict[str, object]:
    """Keyword arguments shared by the blocking and async clients."""
    hosts = hosts_of(settings.opensearch_url)
    options: dict[str, object] = {
        "hosts": hosts,
        "timeout": settings.opensearch_timeout_s,
        # Each retry goes to the next host: as many as there are other nodes to try.
        "max_retries": len(hosts) - 1,
        "retry_on_timeout": True,
        "retry_on_status": (),
        "verify_certs": settings.opensearch_verify_certs,
        "ssl_show_warn": settings.opensearch_verify_certs,
    }
    if settings.opensearch_ca_certs:
        options["ca_certs"] = str(settings.opensearch_ca_certs)
    if settings.opensearch_client_cert:
        options["client_cert"] = str(settings.opensearch_client_cert)
        if settings.opensearch_client_key:
            options["client_key"] = str(settings.opensearch_client_key)
    schemes = [name for name, on in (("a user and password", settings.opensearch_user),
                                     ("an API key", settings.opensearch_api_key),
                                     ("AWS SigV4", settings.opensearch_aws_region)) if on]
    if len(schemes) > 1:
        raise ValueError(f"choose one way to authenticate to OpenSearch, not {' and '.join(schemes)}")
    if settings.opensearch_user:
        password = settings.opensearch_password.get_secret_value() if settings.opensearch_password else ""
        options["http_auth"] = (settings.opensearch_user, password)
    if settings.opensearch_api_key:
        options["headers"] = {"Authorization": f"ApiKey {settings.opensearch_api_key.get_secret_value()}"}
    if settings.opensearch_aws_region:
        options["http_auth"] = _aws_auth(settings, asynchronous=asynchronous)
    return options


def _backoff_transport() -> type:
    from opensearchpy import Transport
    from opensearchpy.exceptions import ConnectionTimeout, TransportError

    class BackoffTransport(Transport):
        """Retries answers of ``RETRY_STATUSES`` and timeouts with backoff until ``retry_budget_s``."""

        retry_budget_s = 15.0

        def perform_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self.retry_budget_s
            attempt = 0
            while True:
                try:
                    return super().perform_request(method, url, *args, **kwargs)
                except TransportError as exc:
                    retry = isinstance(exc, ConnectionTimeout) or exc.status_code in RETRY_STATUSES
                    wait = backoff_s(attempt, INITIAL_BACKOFF_S)
                    if not retry or time.monotonic() + wait > deadline:
                        raise
                    time.sleep(wait)
                    attempt += 1

    return BackoffTransport


def make_client(settings: Settings) -> OpenSearch:
    from opensearchpy import OpenSearch

    client = OpenSearch(transport_class=_backoff_transport(), **client_options(settings))  # type: ignore[arg-type]
    client.transport.retry_budget_s = settings.opensearch_request_retry_budget_s  # type: ignore[attr-defined]
    return client


def make_async_client(settings: Settings) -> AsyncOpenSearch:
    """The proxy's client: it fails over between hosts but never waits to retry, so its caller gets a
    503 within ``proxy_timeout_s`` rather than a retry behind its back."""
    from opensearchpy import AsyncOpenSearch

    options = client_options(settings, asynchronous=True)
    options.update(timeout=settings.proxy_timeout_s, retry_on_timeout=False)
    if settings.opensearch_aws_region:
        from opensearchpy import AsyncHttpConnection

        # The default aiohttp connection only knows basic auth; this one calls a signer per request.
        options["connection_class"] = AsyncHttpConnection
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


def public_urls(url: str | None) -> str:
    """Every host of a comma-separated URL list, without credentials."""
    return ", ".join(public_url(host) for host in hosts_of(url))


def where(client: object) -> str:
    """``OpenSearch at SCHEME://HOST:PORT`` of a client, for messages (no credentials)."""
    hosts = getattr(getattr(client, "transport", None), "hosts", None) or [{}]
    host = hosts[0]
    scheme = "https" if host.get("use_ssl") else "http"
    return f"OpenSearch at {scheme}://{host.get('host', '?')}:{host.get('port', '?')}"
