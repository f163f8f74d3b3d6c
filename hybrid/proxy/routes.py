"""The v1 API: search, documents, indices; health and readiness."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse

from hybrid.backends.base import INDEX_NAME_PATTERN, IndexNotFoundError
from hybrid.proxy.deps import State, require_api_key
from hybrid.proxy.schemas import (
    DocumentBody,
    FacetBucket,
    FusionApplied,
    HitBody,
    IndexInfo,
    Problem,
    SearchBody,
    SearchLink,
    SearchResult,
)

ERRORS = {
    400: {"model": Problem, "description": "a valid body this search cannot answer (the detail says why)"},
    401: {"model": Problem, "description": "missing or wrong API key"},
    404: {"model": Problem, "description": "no such index or document"},
    409: {"model": Problem, "description": "the index was built with another encoder, or not by hybrid"},
    422: {"description": "the body or a parameter does not match the schema (the detail says what)"},
    502: {"model": Problem, "description": "OpenSearch refused the request or the proxy's credentials"},
    503: {"model": Problem, "description": "OpenSearch unavailable or too slow, or the encoder cannot be loaded"},
}
IndexName = Annotated[str | None, Query(pattern=INDEX_NAME_PATTERN, description="index (alias); default: the proxy's")]

router = APIRouter()
v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)], responses=ERRORS)


@v1.post("/search", response_model=SearchResult, response_model_exclude_none=True, summary="BM25, dense or hybrid search")
async def search(body: SearchBody, state: State, index: IndexName = None) -> SearchResult:
    return await _answer(body, state, index or state.settings.index)


@v1.get("/search", response_model=SearchResult, response_model_exclude_none=True,
        summary="the same search as a link: the plain fields as query parameters (filters, fusion and facets: POST)")
async def search_link(link: Annotated[SearchLink, Query()], state: State) -> SearchResult:
    return await _answer(link.body(), state, link.index or state.settings.index)


async def _answer(body: SearchBody, state: State, name: str) -> SearchResult:
    try:
        response = await state.searcher(name).search(body.to_request(state.settings.rerank))
    except IndexNotFoundError:
        state.forget(name)
        raise
    return SearchResult(index=response.index, mode=response.mode, took_ms=round(response.took_ms, 2),
                        candidates=response.candidates, offset=response.offset,
                        fusion=FusionApplied(**dataclasses.asdict(response.fusion))
                        if body.explain and response.fusion is not None else None,
                        hits=[HitBody.of(h, explain=body.explain) for h in response.hits],
                        facets=None if response.facets is None else {
                            field: [FacetBucket(value=v, count=n) for v, n in counts]
                            for field, counts in response.facets.items()},
                        warnings=list(response.warnings) or None, reranker=response.reranker)


@v1.get("/documents/{doc_id}", response_model=DocumentBody, summary="one document by id")
async def document(doc_id: Annotated[str, Path(min_length=1, max_length=512)], state: State,
                   index: IndexName = None) -> DocumentBody:
    name = index or state.settings.index
    backend = state.searcher(name).backend
    try:
        await backend.index_meta()  # 404 for a missing index before looking up the document
    except IndexNotFoundError:
        state.forget(name)
        raise
    found = (await backend.fetch([doc_id])).get(doc_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no document {doc_id!r} in index {name!r}")
    return DocumentBody(id=doc_id, title=found.title, text=found.text, metadata=dict(found.metadata))


@v1.get("/indices", response_model=list[IndexInfo], summary="indices built by hybrid")
async def indices(state: State) -> list[IndexInfo]:
    return [IndexInfo(name=e.name, documents=e.documents, default=e.name == state.settings.index,
                      fingerprint=e.meta.fingerprint.to_meta(), lexical=e.meta.lexical.to_block(),
                      metadata_fields=dict(e.meta.metadata_fields),
                      note=e.meta.lexical.upgrade_hint(e.name) if e.meta.lexical.outdated else None)
            for e in await state.backend.async_indices()]


router.include_router(v1)


@router.get("/healthz", summary="the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="the backend answers and the default index's encoder is loaded",
            responses={503: {"model": Problem}})
async def readyz(state: State) -> JSONResponse:
    problem = await state.backend.problem()
    if problem:
        return JSONResponse(status_code=503, content={"detail": problem})
    encoders = sorted(e.encoder.spec.model_id for e in state.embedders.values())
    return JSONResponse(content={"status": "ready", "backend": state.backend.kind, "where": state.backend.description,
                                 "encoders": encoders})
