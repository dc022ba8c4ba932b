"""The purpose of a scoring request (``X-Purpose``, a case reference): exactly one header,
checked by the one purpose rule (``flowrisk.audit.purpose``), and the checked value is the one
the audit row stores (``request.state.purpose``, read by the middleware).

The header is read from the raw request headers, not through FastAPI's ``Header``, which keeps
only one of repeated headers: two purposes are refused rather than one of them checked and
another stored."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from flowrisk.api.problems import ApiProblem
from flowrisk.audit.purpose import PURPOSE_MAX, check_purpose
from flowrisk.errors import InvalidParameter

__all__ = ["PURPOSE_HEADER", "CheckedPurpose", "checked_purpose", "purpose_openapi"]

PURPOSE_HEADER = "X-Purpose"
_RAW_NAME = PURPOSE_HEADER.lower().encode("latin-1")


def _refuse(title: str, detail: str) -> ApiProblem:
    return ApiProblem(400, title, f"{PURPOSE_HEADER}: {detail}", field=PURPOSE_HEADER)


async def checked_purpose(request: Request) -> str:
    """The request's one purpose, trimmed and checked; a missing, repeated, undecodable or
    refused purpose is a 400 problem naming ``X-Purpose`` (audited with no purpose)."""
    values = [v for k, v in request.scope.get("headers") or () if k.lower() == _RAW_NAME]
    if not values:
        raise _refuse("Purpose required", "a purpose (case reference) is required")
    if len(values) > 1:
        raise _refuse("Bad purpose", f"exactly one header is allowed, got {len(values)}")
    try:
        text = values[0].decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("Bad purpose", "must be UTF-8 text") from None
    min_length: int = request.app.state.config.purpose_min_length
    try:
        purpose = check_purpose(text, min_length, PURPOSE_HEADER)
    except InvalidParameter as exc:
        title = "Purpose required" if not text.strip() else "Bad purpose"
        raise _refuse(title, exc.message) from None
    request.state.purpose = purpose
    return purpose


CheckedPurpose = Annotated[str, Depends(checked_purpose)]


def purpose_openapi() -> dict[str, Any]:
    """The OpenAPI declaration of the required header (the dependency reads raw headers, so
    FastAPI does not document it by itself); merged into a route's ``openapi_extra``."""
    return {
        "parameters": [
            {
                "name": PURPOSE_HEADER,
                "in": "header",
                "required": True,
                "description": "Case reference or purpose of the lookup, recorded in the audit "
                "trail: exactly one header, printable text of at least FLOWRISK_PURPOSE_MIN_LENGTH "
                "characters after trimming.",
                "schema": {"type": "string", "maxLength": PURPOSE_MAX, "title": PURPOSE_HEADER},
                "example": "case 2026-0042",
            }
        ]
    }
