"""What routes declare to get what they need: the service's wiring, a verified API key of a role,
an audit note (the mark of an audited route), the scoring body parsed by pydantic-core, and the
shared query and header parameters. Every dependency here is ``async``: each is a few
microseconds of work, cheaper inline than a hop to the thread pool, except the key check, whose
database read runs in a worker thread (``verify_key``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError

from flowrisk.api.limits import AuthFailures, failure_bucket
from flowrisk.api.metrics import Metrics
from flowrisk.api.problems import ApiProblem
from flowrisk.api.schemas import ScoreRequest
from flowrisk.api.schemas.fields import example_of
from flowrisk.api.service import ApiConfig
from flowrisk.audit import ROLES, ApiKey, Store
from flowrisk.errors import AuditUnavailable

__all__ = [
    "AdminKey",
    "AnalystKey",
    "AuditNote",
    "Audited",
    "Config",
    "Explain",
    "MetricsDep",
    "ScoreBody",
    "TooManyFailures",
    "audit_note",
    "json_body",
    "parse_json",
    "require_role",
    "verify_key",
]


key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from `flowrisk keys create`."
)


async def get_config(request: Request) -> ApiConfig:
    """The wiring of the app serving the request."""
    config: ApiConfig = request.app.state.config
    return config


async def get_metrics(request: Request) -> Metrics:
    """The metrics of the app serving the request."""
    metrics: Metrics = request.app.state.metrics
    return metrics


Config = Annotated[ApiConfig, Depends(get_config)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


KEY_CHECK_MARGIN_SECONDS = 1.0  # beyond the store's own timeout, which should answer first
KEY_CHECKERS = 8  # threads checking keys at once: a locked database holds no more than these


class TooManyFailures(ApiProblem):
    """429: the key id (or client address) failed authentication too often in the last
    minute; ``retry_after`` seconds until it may try again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too many failed authentications",
            f"too many failed authentications for this key; retry in {retry_after} s",
        )
        self.retry_after = retry_after


async def verify_key(
    store: Store, presented: str, limiter: anyio.CapacityLimiter | None = None
) -> ApiKey | None:
    """``store.verify`` in a worker thread (at most ``limiter``'s at once), so that a slow or
    locked database holds no other request (``/healthz`` included); an unavailable store, or
    no answer within its timeout, is a 503."""
    limit = store.timeout + KEY_CHECK_MARGIN_SECONDS
    try:
        with anyio.fail_after(limit):
            return await anyio.to_thread.run_sync(
                store.verify, presented, abandon_on_cancel=True, limiter=limiter
            )
    except (AuditUnavailable, TimeoutError) as exc:
        why = str(exc) if isinstance(exc, AuditUnavailable) else f"no answer within {limit:g} s"
        raise ApiProblem(
            503, "Audit store unavailable", f"the API key could not be checked: {why}"
        ) from None


def require_role(role: str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency admitting a valid key of ``role`` or of a stronger one (``ROLES`` is
    ordered weakest first): 401 without a valid key, 403 with a weaker one, 429 while the key
    id (or client address) is locked out for failed attempts (``limits.AuthFailures``): then
    even the right key is refused unchecked, so a guess that happens to be right is not told
    apart from a wrong one, and the database is not read."""
    allowed = ROLES[ROLES.index(role) :]

    async def check(request: Request, presented: str | None = Depends(key_header)) -> ApiKey:
        if not presented:
            raise ApiProblem(401, "Unauthorized", "an X-API-Key header is required")
        failures: AuthFailures = request.app.state.auth_failures
        bucket = failure_bucket(presented, request.client.host if request.client else None)
        wait = failures.retry_after(bucket)
        if wait is not None:
            request.state.refused_key = bucket
            raise TooManyFailures(wait)
        state = request.app.state
        # a store that could not answer (503) raises here and counts no failure
        key = await verify_key(state.config.store, presented, state.key_checkers)
        if key is None:
            failures.failed(bucket)
            request.state.refused_key = bucket  # logged: the key id or the client, no secret
            raise ApiProblem(401, "Unauthorized", "unknown or revoked API key")
        request.state.key = key  # the audit row names the caller, even when refused
        if key.role not in allowed:
            raise ApiProblem(403, "Forbidden", f"the {key.role} role may not use this route")
        return key

    return check


AnalystKey = Annotated[ApiKey, Depends(require_role("analyst"))]
AdminKey = Annotated[ApiKey, Depends(require_role("admin"))]


@dataclass
class AuditNote:
    """What an audited route tells its audit rows: the entity asked about and the results."""

    entity_id: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


async def audit_note(request: Request) -> AuditNote:
    """The mark of an audited route: every request to a route depending on this, allowed or
    refused, leaves audit rows (``middleware``); the route fills the note it returns."""
    note = AuditNote()
    request.state.audit = note
    return note


Audited = Annotated[AuditNote, Depends(audit_note)]

Body = TypeVar("Body", bound=BaseModel)


def parse_json(model: type[Body]) -> Callable[[Request], Awaitable[Body]]:
    """A dependency validating the raw body with pydantic-core's own JSON parser: a scoring
    payload of 1,000 transactions skips a 1 ms ``json.loads`` into Python objects. Errors are
    the same 422 problem documents as FastAPI's body validation."""

    async def parse(request: Request) -> Body:
        try:
            return model.model_validate_json(await request.body())
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None

    return parse


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route parsing ``model`` with ``parse_json`` (FastAPI
    documents only the bodies it parses itself), with an example."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    body = {"schema": ref, "example": example_of(model)}  # the fields' examples, composed
    return {"requestBody": {"required": True, "content": {"application/json": body}}}


ScoreBody = Annotated[ScoreRequest, Depends(parse_json(ScoreRequest))]
Explain = Annotated[
    bool,
    Query(description="Return reasons and red flags (TreeSHAP costs time).", examples=[True]),
]
