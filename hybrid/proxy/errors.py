"""Domain errors mapped to HTTP once, here (the library knows nothing of HTTP).

Most specific first; the message goes out as the JSON ``detail``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hybrid.backends.base import (
    AccessDeniedError,
    BackendError,
    BackendUnavailableError,
    IndexNotFoundError,
    InvalidIndexNameError,
)
from hybrid.index_meta import IndexMetaError
from hybrid.proxy.observability import error_kind
from hybrid.recipes import EncoderError, FingerprintMismatchError
from hybrid.retrieval import BadRequestError

STATUS: dict[type[Exception], int] = {
    BadRequestError: 400,
    InvalidIndexNameError: 400,
    IndexNotFoundError: 404,
    FingerprintMismatchError: 409,
    IndexMetaError: 409,  # the index exists but hybrid did not build it
    AccessDeniedError: 502,  # the proxy's own credentials: not the caller's fault
    BackendUnavailableError: 503,
    EncoderError: 503,  # the index's encoder cannot be loaded here
    BackendError: 502,  # OpenSearch refused the request
    TimeoutError: 503,
}


def install(app: FastAPI) -> None:
    for error, status in STATUS.items():

        async def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            error_kind(request, exc)
            return JSONResponse(status_code=status, content={"detail": str(exc) or type(exc).__name__})

        app.add_exception_handler(error, handler)
