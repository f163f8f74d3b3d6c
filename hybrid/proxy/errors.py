"""Domain errors mapped to HTTP once, here (the library knows nothing of HTTP)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hybrid.backends.base import BackendError, IndexNotFoundError
from hybrid.encoders import FingerprintMismatchError
from hybrid.retrieval import BadRequestError


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


# Domain error -> HTTP status; the message goes out as the JSON "detail".
STATUS: dict[type[Exception], int] = {
    BadRequestError: 422,
    IndexNotFoundError: 404,
    FingerprintMismatchError: 409,
    BackendError: 502,
}


def install(app: FastAPI) -> None:
    for error, status in STATUS.items():

        async def handler(_: Request, exc: Exception, status: int = status) -> JSONResponse:
            return _problem(status, str(exc))

        app.add_exception_handler(error, handler)

    from opensearchpy.exceptions import ConnectionError as OSConnectionError
    from opensearchpy.exceptions import TransportError

    @app.exception_handler(TransportError)
    async def transport(_: Request, exc: TransportError) -> JSONResponse:
        # Connection refused, timeouts and 5xx: the cluster is down or overloaded; it may come back.
        status = exc.status_code if isinstance(exc.status_code, int) else None
        if isinstance(exc, OSConnectionError) or status is None or status >= 500:
            return _problem(503, f"OpenSearch is unavailable ({type(exc).__name__}); retry later")
        return _problem(502, f"OpenSearch refused the request: {exc.error}")

    @app.exception_handler(TimeoutError)
    async def timeout(_: Request, exc: TimeoutError) -> JSONResponse:
        return _problem(503, "OpenSearch did not answer in time; retry later")
