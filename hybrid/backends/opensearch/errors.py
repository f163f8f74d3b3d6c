"""opensearch-py's exceptions turned into the backend's domain errors, at the backend's edge, so the
CLI and the proxy map one vocabulary (unreachable, denied, refused, not found) and never a client
library's classes."""

from __future__ import annotations

import functools
import inspect
import os
import re
from collections.abc import Callable
from typing import NoReturn, TypeVar

from hybrid.backends.base import AccessDeniedError, BackendError, BackendUnavailableError, IndexNotFoundError

F = TypeVar("F", bound=Callable[..., object])

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^)'\"]+)")
_SSL = re.compile(r"\[SSL: ([A-Z_]+)\][^)'\"]*|certificate verify failed[^)'\"]*", re.IGNORECASE)
_KNN_MISSING = re.compile(r"knn_vector|unknown setting \[index\.knn", re.IGNORECASE)
CREDENTIALS_HINT = "set --user with HYBRID_OPENSEARCH_PASSWORD, or HYBRID_OPENSEARCH_API_KEY"


def _errno(exc: object) -> int | None:
    """The OS error number under a client library's connection error (urllib3 or aiohttp), if any."""
    for cause in (exc, getattr(exc, "info", None), getattr(getattr(exc, "info", None), "os_error", None)):
        number = getattr(cause, "errno", None)
        if isinstance(number, int) and number > 0:
            return number
    return None


def _reason(exc: Exception) -> str:
    """A short cause: "connection refused", "certificate verify failed", "wrong version number" …"""
    number = _errno(exc)
    if number is not None and not _SSL.search(str(exc)):
        return os.strerror(number).lower()
    for text in (str(getattr(exc, "info", "")), str(exc)):
        for pattern in (_SSL, _ERRNO):
            match = pattern.search(text)
            if match:
                found = match.group(1) if match.lastindex and match.group(1) else match.group(0)
                return found.strip().rstrip(".").lower().replace("_", " ")
    return str(getattr(exc, "error", "") or exc)[:200]


def _root_cause(exc: Exception) -> dict[str, object]:
    """``error.root_cause[0]`` of the cluster's error answer (or ``error`` itself), if it sent one."""
    info = getattr(exc, "info", None)
    error = info.get("error") if isinstance(info, dict) else None
    if not isinstance(error, dict):
        return {}
    root = (error.get("root_cause") or [error])[0]
    return root if isinstance(root, dict) else {}


def _error_type(exc: Exception) -> str:
    return str(_root_cause(exc).get("type", ""))


def _detail(exc: Exception) -> str:
    """The cluster's own reason for an error answer (a JSON error, or the plain text body), when it gave one."""
    root = _root_cause(exc)
    if root:
        return str(root.get("reason") or root.get("type"))
    info = getattr(exc, "info", None)
    if isinstance(info, dict) and info.get("error"):
        return str(info["error"])
    if isinstance(info, str) and info.strip():
        return " ".join(info.split())[:200]
    return str(getattr(exc, "error", "") or exc)


def translate(exc: Exception, where: str, index: str | None = None) -> Exception:
    """The domain error for an opensearch-py exception (``exc`` itself when it is none of them);
    ``index``, when known, is named in a refusal."""
    from opensearchpy import exceptions as os_errors

    if isinstance(exc, os_errors.ConnectionTimeout):
        return BackendUnavailableError(f"{where} did not answer in time ({_reason(exc)}); retry later or raise --timeout")
    if isinstance(exc, os_errors.SSLError) or (isinstance(exc, os_errors.ConnectionError) and _SSL.search(str(exc))):
        return BackendUnavailableError(
            f"TLS with {where} failed ({_reason(exc)}): check the URL's scheme (http/https) and the CA bundle "
            "(HYBRID_OPENSEARCH_CA_CERTS, --ca-certs), or --insecure"
        )
    if isinstance(exc, os_errors.ConnectionError):
        return BackendUnavailableError(f"cannot reach {where} ({_reason(exc)})")
    if isinstance(exc, os_errors.AuthenticationException):
        return AccessDeniedError(f"{where} refused the credentials (401: {_detail(exc)}); {CREDENTIALS_HINT}")
    if isinstance(exc, os_errors.AuthorizationException):
        on = f" on index {index!r}" if index else ""
        return AccessDeniedError(f"{where} denied the request{on} (403: {_detail(exc)}); the user needs the "
                                 "privileges named there")
    if isinstance(exc, os_errors.NotFoundError) and _error_type(exc) == "index_not_found_exception":
        missing = _root_cause(exc).get("index") or "?"
        return IndexNotFoundError(f"index {missing!r} does not exist on {where}")
    if isinstance(exc, os_errors.TransportError) and _KNN_MISSING.search(_detail(exc)):
        return BackendError(f"{where} has no k-NN plugin ({_detail(exc)}); install opensearch-knn on every node")
    if isinstance(exc, os_errors.TransportError):
        status = exc.status_code if isinstance(exc.status_code, int) else None
        if status is None or status >= 500:
            return BackendUnavailableError(f"{where} failed ({status or 'no status'}: {_detail(exc)}); retry later")
        return BackendError(f"{where} refused the request ({status}: {_detail(exc)})")
    return exc


def _reraise(backend: object, exc: Exception) -> NoReturn:
    index = getattr(backend, "index", None)
    new = translate(exc, getattr(backend, "where", "OpenSearch"), index if isinstance(index, str) else None)
    if new is exc:
        raise exc
    raise new from exc


def translated(method: F) -> F:
    """Decorate a backend method (plain, async, or generator) so opensearch-py errors leave it translated.

    The object must have a ``where`` attribute (``OpenSearch at URL``) for the messages.
    """
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                return await method(self, *args, **kwargs)
            except Exception as exc:
                _reraise(self, exc)

        return run_async  # type: ignore[return-value]

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def run_generator(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                yield from method(self, *args, **kwargs)
            except Exception as exc:
                _reraise(self, exc)

        return run_generator  # type: ignore[return-value]

    @functools.wraps(method)
    def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            _reraise(self, exc)

    return run  # type: ignore[return-value]
