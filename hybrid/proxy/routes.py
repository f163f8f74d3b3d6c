"""The v1 API: search, documents, indices; health and readiness."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from hybrid.backends.base import IndexNotFoundError
from hybrid.proxy.app import ProxyState
from hybrid.proxy.schemas import DocumentBody, HitBody, IndexInfo, Problem, SearchBody, SearchResult

INDEX_PATTERN = r"^[a-z0-9][a-z0-9_.\-]{0,199}$"
ERRORS = {
    401: {"model": Problem, "description": "missing or wrong API key"},
    404: {"model": Problem, "description": "no such index or document"},
    409: {"model": Problem, "description": "the index was built with another encoder"},
    422: {"description": "invalid request (the detail says what)"},
    503: {"model": Problem, "description": "OpenSearch unavailable or too slow"},
}


def _state(request: Request) -> ProxyState:
    return request.app.state.proxy  # type: ignore[no-any-return]


def require_api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    keys = _state(request).settings.proxy_api_keys
    if not keys:
        return
    if x_api_key is None or not any(hmac.compare_digest(x_api_key, k.get_secret_value()) for k in keys):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key")


State = Annotated[ProxyState, Depends(_state)]
IndexName = Annotated[str | None, Query(pattern=INDEX_PATTERN, description="index (alias); default: the proxy's")]

router = APIRouter()
v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)], responses=ERRORS)


@v1.post("/search", response_model=SearchResult, summary="BM25, dense or hybrid search")
async def search(body: SearchBody, state: State, index: IndexName = None) -> SearchResult:
    name = index or state.settings.index
    try:
        response = await state.searcher(name).search(body.to_request())
    except IndexNotFoundError:
        state.forget(name)
        raise
    return SearchResult(index=response.index, mode=response.mode, took_ms=round(response.took_ms, 2),
                        candidates=response.candidates, offset=response.offset,
                        hits=[HitBody.of(h) for h in response.hits])


@v1.get("/documents/{doc_id}", response_model=DocumentBody, summary="one document by id")
async def document(doc_id: Annotated[str, Path(min_length=1, max_length=512)], state: State,
                   index: IndexName = None) -> DocumentBody:
    name = index or state.settings.index
    backend = state.searcher(name).backend
    await backend.filterable_fields()  # 404 for a missing index before looking up the document
    found = (await backend.fetch([doc_id])).get(doc_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no document {doc_id!r} in index {name!r}")
    return DocumentBody(id=doc_id, title=found.title, text=found.text, metadata=dict(found.metadata))


@v1.get("/indices", response_model=list[IndexInfo], summary="indices built by hybrid")
async def indices(state: State) -> list[IndexInfo]:
    from hybrid.proxy.catalog import list_indices

    return await list_indices(state)


router.include_router(v1)


@router.get("/healthz", summary="the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="OpenSearch reachable and the encoder loaded", responses={503: {"model": Problem}})
async def readyz(state: State) -> JSONResponse:
    problems = []
    if state.encoder is None:
        problems.append("encoder not loaded")
    if state.client is not None:
        try:
            if not await state.client.ping():
                problems.append("OpenSearch does not answer")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            problems.append(f"OpenSearch unreachable ({type(exc).__name__})")
    if problems:
        return JSONResponse(status_code=503, content={"detail": "; ".join(problems)})
    model = state.encoder.spec.model_id
    return JSONResponse(content={"status": "ready", "encoder": model,
                                 "backend": "opensearch" if state.client is not None else "embedded"})
