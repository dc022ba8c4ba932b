"""RFC 9457 problem documents: the one error shape of the API, what each status means in the
OpenAPI document, and the handlers that map every error (ours, FastAPI's, Starlette's and the
domain's ``FlowriskError`` tree) onto it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from flowrisk.api.schemas import Problem
from flowrisk.errors import EntityNotFound, FlowriskError, InvalidParameter

__all__ = ["PROBLEM", "ApiProblem", "install_problem_handlers", "problem", "responses"]

PROBLEM = "application/problem+json"

_MEANINGS = {
    400: "Bad request (a missing purpose header, an inconsistent payload)",
    401: "No API key, or an unknown or revoked one",
    403: "The key's role may not use this route",
    404: "No such entity",
    413: "Request too large (bytes, transactions or batch items)",
    422: "A field breaks the data contract",
    429: "Too many failed authentications for this key id or client; see Retry-After",
    431: "Request header fields too large (their total size or their count)",
    503: "The service cannot answer now: the audit store could not record the request, the "
    "request timed out, or the model cannot be loaded or was refused (the body says which)",
}


class ApiProblem(Exception):
    """An error with its HTTP status, rendered as a problem document."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.field = status, title, detail, field


def problem(
    status: int,
    title: str,
    detail: str | None,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The problem document of one error, as a response."""
    body = Problem.model_validate(
        {"title": title, "status": status, "detail": detail, "instance": instance, "errors": errors}
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that can answer ``codes`` with a problem."""
    return {
        c: {"model": Problem, "description": _MEANINGS[c], "content": {PROBLEM: {}}} for c in codes
    }


async def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    headers = {"WWW-Authenticate": "APIKey"} if exc.status == 401 else None
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    return problem(exc.status, exc.title, exc.detail, request.url.path, errors, headers)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
            "message": e["msg"],
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}"
    return problem(422, "Invalid request", detail, request.url.path, errors[:50])


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, title, str(exc.detail), request.url.path)


async def _flowrisk(request: Request, exc: Exception) -> JSONResponse:
    """Domain errors: a bad parameter is the client's (400), a missing entity 404, and anything
    else (a model that cannot be loaded) the service's (503)."""
    path = request.url.path
    if isinstance(exc, InvalidParameter):
        return problem(
            400, "Bad request", str(exc), path, [{"field": exc.name, "message": exc.message}]
        )
    if isinstance(exc, EntityNotFound):
        return problem(404, "Not found", str(exc), path)
    return problem(503, "Service unavailable", str(exc), path)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error the app can raise answers with a problem document."""
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(FlowriskError, _flowrisk)
