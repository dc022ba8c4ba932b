"""The FastAPI app factory: thin routes over ``service``, API keys with roles, an audit row for
every request that reaches a scoring route (allowed or refused), RFC 9457 problem documents for
every error, request-size limits, and Prometheus metrics."""

from __future__ import annotations

import gc
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from flowrisk.api.metrics import Metrics
from flowrisk.api.schemas import (
    BatchRequest,
    BatchResponse,
    ModelInfo,
    Problem,
    ScoreRequest,
    ScoreResponse,
)
from flowrisk.api.service import ModelHolder, payload_frames
from flowrisk.api.store import ApiKey, Store
from flowrisk.errors import EntityNotFound, FlowriskError, InvalidParameter
from flowrisk.models.scoring import DatasetSource, score_frames

__all__ = ["ApiConfig", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGI = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

SCORING = re.compile(r"^/v1/(scores|scores:batch|entities/[^/]+/score)$")
PURPOSE = "X-Purpose"
PROBLEM = "application/problem+json"


class ApiProblem(Exception):
    """An error with its HTTP status, rendered as a problem document."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.field = status, title, detail, field


def _problem(
    status: int,
    title: str,
    detail: str | None,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem.model_validate(
        {"title": title, "status": status, "detail": detail, "instance": instance, "errors": errors}
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


Body = TypeVar("Body", bound=BaseModel)


def _parse_json(model: type[Body]) -> Callable[[Request], Awaitable[Body]]:
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


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route parsing ``model`` with ``_parse_json`` (FastAPI
    documents only the bodies it parses itself)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Bad request (a missing purpose header, an inconsistent payload)",
        401: "No API key, or an unknown or revoked one",
        403: "The key's role may not use this route",
        404: "No such entity",
        413: "Request too large (bytes, transactions or batch items)",
        422: "A field breaks the data contract",
        503: "The model cannot be loaded",
    }
    return {c: {"model": Problem, "description": text[c], "content": {PROBLEM: {}}} for c in codes}


@dataclass(frozen=True)
class ApiConfig:
    """What one service instance serves: the model holder, the audit store, the optional
    dataset for entity lookups, and the limits."""

    store: Store
    holder: ModelHolder
    dataset: DatasetSource | None = None
    max_body_bytes: int = 8 * 1024 * 1024
    max_transactions: int = 10_000
    batch_max: int = 100


def _audit_middleware(app: ASGI, config: ApiConfig, metrics: Metrics) -> ASGI:
    """Pure ASGI: enforces the body-size limit (413), hashes the body, times the request, and
    appends the audit rows of scoring routes once the response status is known."""

    async def middleware(
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        digest = hashlib.sha256()
        status = {"code": 500}
        size = 0
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        scope.setdefault("state", {})

        async def counting_receive() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                digest.update(chunk)
                if size > config.max_body_bytes:
                    raise ApiProblem(
                        413,
                        "Request too large",
                        f"the body exceeds {config.max_body_bytes:,} bytes",
                    )
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            if (
                declared is not None
                and declared.isdigit()
                and int(declared) > config.max_body_bytes
            ):
                raise ApiProblem(
                    413, "Request too large", f"the body exceeds {config.max_body_bytes:,} bytes"
                )
            await app(scope, counting_receive, tracking_send)
        except ApiProblem as exc:
            response = _problem(exc.status, exc.title, exc.detail, scope["path"])
            await response(scope, receive, tracking_send)
        finally:
            path = scope["path"]
            elapsed = time.perf_counter() - started
            route = _route_label(path)
            metrics.observe(scope["method"], route, status["code"], elapsed)
            if SCORING.match(path):
                _write_audit(
                    config.store, scope, headers, status["code"], digest.hexdigest(), metrics
                )

    return middleware


def _route_label(path: str) -> str:
    if path.startswith("/v1/entities/"):
        return "/v1/entities/{entity_id}/score"
    return path if path in KNOWN_PATHS else "other"


KNOWN_PATHS = {
    "/v1/scores",
    "/v1/scores:batch",
    "/v1/model",
    "/v1/model/reload",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
}


def _write_audit(
    store: Store,
    scope: Scope,
    headers: dict[bytes, bytes],
    status: int,
    request_hash: str,
    metrics: Metrics,
) -> None:
    state = scope.get("state", {})
    key: ApiKey | None = state.get("key")
    purpose = headers.get(PURPOSE.lower().encode(), b"").decode(errors="replace")[:200] or None
    base = {
        "at": datetime.now(UTC),
        "key_id": key.key_id if key else None,
        "role": key.role if key else None,
        "method": scope["method"],
        "route": scope["path"][:200],
        "status": status,
        "purpose": purpose,
        "request_hash": request_hash,
    }
    results = state.get("results") or []
    if status < 400 and results:
        rows = [
            {
                **base,
                "entity_id": r["entity_id"][:64],
                "model_version": r.get("model_version"),
                "score": r.get("score"),
                "band": r.get("band"),
            }
            for r in results
        ]
        for r in results:
            metrics.scored(r.get("band"))
    else:
        entity = state.get("entity_id")
        if entity is None and scope["path"].startswith("/v1/entities/"):
            entity = scope["path"].split("/")[3]
        rows = [
            {
                **base,
                "entity_id": (entity or None) and entity[:64],
                "model_version": None,
                "score": None,
                "band": None,
            }
        ]
    store.append(rows)


def create_app(config: ApiConfig) -> FastAPI:
    """The service over ``config``: routes, auth, problems, audit, metrics."""
    metrics = Metrics()
    app = FastAPI(
        title="flowrisk",
        version="1",
        description="Explainable money-laundering risk scores of people and companies. Every "
        "lookup is authorised with an API key and recorded in an append-only audit trail.",
    )
    key_header = APIKeyHeader(
        name="X-API-Key", auto_error=False, description="An API key from `flowrisk keys create`."
    )

    def require(*roles: str) -> Callable[..., Awaitable[ApiKey]]:
        # async: the key lookup is one indexed read, cheaper than a hop to the thread pool
        async def check(request: Request, presented: str | None = Depends(key_header)) -> ApiKey:
            if not presented:
                raise ApiProblem(401, "Unauthorized", "an X-API-Key header is required")
            key = config.store.verify(presented)
            if key is None:
                raise ApiProblem(401, "Unauthorized", "unknown or revoked API key")
            request.state.key = key
            if key.role not in roles:
                raise ApiProblem(403, "Forbidden", f"the {key.role} role may not use this route")
            return key

        return check

    analyst = Depends(require("analyst", "admin"))
    admin = Depends(require("admin"))

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        headers = {"WWW-Authenticate": "APIKey"} if exc.status == 401 else None
        errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        return _problem(exc.status, exc.title, exc.detail, request.url.path, errors, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return _problem(
            422,
            "Invalid request",
            f"{first['field']}: {first['message']}",
            request.url.path,
            errors[:50],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = HTTPStatus(exc.status_code).phrase
        return _problem(exc.status_code, title, str(exc.detail), request.url.path)

    @app.exception_handler(FlowriskError)
    async def _flowrisk(request: Request, exc: FlowriskError) -> JSONResponse:
        if isinstance(exc, InvalidParameter):
            return _problem(
                400,
                "Bad request",
                str(exc),
                request.url.path,
                [{"field": exc.name, "message": exc.message}],
            )
        if isinstance(exc, EntityNotFound):
            return _problem(404, "Not found", str(exc), request.url.path)
        return _problem(503, "Service unavailable", str(exc), request.url.path)

    def _score_request(request: Request, body: ScoreRequest, explain: bool) -> dict[str, Any]:
        request.state.entity_id = body.entity.entity_id
        if len(body.transactions) > config.max_transactions:
            raise ApiProblem(
                413,
                "Request too large",
                f"{len(body.transactions):,} transactions; at most "
                f"{config.max_transactions:,} per entity",
                field="transactions",
            )
        frames = payload_frames(body)
        return score_frames(
            frames, body.entity.entity_id, body.as_of, config.holder.current, explain
        )

    score_body = Depends(_parse_json(ScoreRequest))
    explain_query = Query(True, description="Return reasons and red flags (TreeSHAP costs time).")

    @app.post(
        "/v1/scores",
        response_model=ScoreResponse,
        tags=["scores"],
        responses=_responses(400, 401, 403, 413, 422, 503),
        openapi_extra=_json_body(ScoreRequest),
    )
    def score(
        request: Request,
        _: ApiKey = analyst,
        body: ScoreRequest = score_body,
        explain: bool = explain_query,
    ) -> dict[str, Any]:
        """Score one entity from a full payload (entity, accounts, transactions and optionally
        assets, ownership and reports) as of ``as_of``."""
        result = _score_request(request, body, explain)
        request.state.results = [result]
        return result

    @app.post(
        "/v1/scores:batch",
        response_model=BatchResponse,
        tags=["scores"],
        responses=_responses(400, 401, 403, 413, 422, 503),
    )
    def score_batch(
        request: Request, body: BatchRequest, _: ApiKey = analyst, explain: bool = explain_query
    ) -> dict[str, Any]:
        """Score several entities, each with its own payload."""
        if len(body.items) > config.batch_max:
            raise ApiProblem(
                413,
                "Request too large",
                f"{len(body.items):,} entities; at most {config.batch_max:,} per batch",
                field="items",
            )
        seen: set[str] = set()
        for i, item in enumerate(body.items):
            if item.entity.entity_id in seen:
                raise ApiProblem(
                    400,
                    "Bad request",
                    f"entity {item.entity.entity_id} is in the batch twice",
                    field=f"items[{i}].entity.entity_id",
                )
            seen.add(item.entity.entity_id)
        results = [_score_request(request, item, explain) for item in body.items]
        request.state.results = results
        return {"items": results}

    @app.get(
        "/v1/entities/{entity_id}/score",
        response_model=ScoreResponse,
        tags=["scores"],
        responses=_responses(400, 401, 403, 404, 422, 503),
    )
    def entity_score(
        request: Request,
        entity_id: Annotated[str, PathParam(min_length=1, max_length=64)],
        _: ApiKey = analyst,
        purpose: Annotated[
            str | None,
            Header(alias=PURPOSE, max_length=200, description="Case reference or purpose"),
        ] = None,
        explain: bool = explain_query,
    ) -> dict[str, Any]:
        """Score an entity of the dataset the service was started on (``--dataset``). The
        ``X-Purpose`` header (a case reference) is required and recorded."""
        request.state.entity_id = entity_id
        if not purpose or not purpose.strip():
            raise ApiProblem(
                400,
                "Purpose required",
                f"entity lookups need a {PURPOSE} header (case reference)",
                field=PURPOSE,
            )
        if config.dataset is None:
            raise ApiProblem(404, "Not found", "the service was started without a dataset")
        frames = config.dataset.frames_for(entity_id)
        result = score_frames(
            frames, entity_id, config.dataset.as_of, config.holder.current, explain
        )
        request.state.results = [result]
        return result

    @app.get("/v1/model", response_model=ModelInfo, tags=["model"], responses=_responses(401, 403))
    def model_info(_: ApiKey = analyst) -> dict[str, Any]:
        """The loaded model: name, version, alias, feature set and held-out metrics."""
        return _model_info(config.holder)

    @app.post(
        "/v1/model/reload",
        response_model=ModelInfo,
        tags=["model"],
        responses=_responses(401, 403, 503),
    )
    def reload(_: ApiKey = admin) -> dict[str, Any]:
        """Load the current target of the model URI (e.g. a new champion) without a restart;
        if it cannot be loaded, the service keeps the model it has and says so (503)."""
        try:
            _previous, current = config.holder.reload()
        except (FlowriskError, OSError) as exc:
            kept = config.holder.current.bundle.version
            raise ApiProblem(503, "Reload failed", f"{exc}; still serving version {kept}") from exc
        metrics.model_version(current.bundle.version)
        return _model_info(config.holder)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses=_responses(503))
    def readyz() -> dict[str, Any]:
        """A model is loaded and the audit database answers."""
        try:
            config.store.ping()
        except Exception as exc:
            raise ApiProblem(503, "Not ready", f"audit database: {exc}") from exc
        return {"status": "ready", "model_version": config.holder.current.bundle.version}

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Prometheus metrics: requests, latencies, scores by band, model version."""
        body, content_type = metrics.render()
        return PlainTextResponse(body, media_type=content_type)

    metrics.model_version(config.holder.current.bundle.version)
    app.add_middleware(_Wrap, config=config, metrics=metrics)
    gc.collect()
    gc.freeze()  # long-lived objects out of the collector's way: no p99 spikes from GC
    return app


class _Wrap:
    """Adapter so that ``add_middleware`` can install the pure ASGI audit middleware."""

    def __init__(self, app: ASGI, config: ApiConfig, metrics: Metrics) -> None:
        self.inner = _audit_middleware(app, config, metrics)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.inner(scope, receive, send)


def _model_info(holder: ModelHolder) -> dict[str, Any]:
    loaded = holder.current
    bundle = loaded.bundle
    alias = holder.uri.partition("@")[2] or None
    return {
        "name": "flowrisk",
        "uri": holder.uri,
        "version": bundle.version,
        "alias": alias,
        "feature_set": bundle.model.feature_set,
        "feature_set_version": bundle.model.feature_set_version,
        "loaded_at": loaded.loaded_at,
        "heldout_metrics": loaded.metrics,
    }


def registry_loader(uri: str) -> tuple[Any, dict[str, float]]:
    """Load a registered model and the held-out metrics of its run."""
    from mlflow import MlflowClient

    from flowrisk.models.registry import MODEL_NAME, load_bundle

    bundle = load_bundle(uri)
    metrics: dict[str, float] = {}
    if bundle.version is not None:
        client = MlflowClient()
        run = client.get_model_version(MODEL_NAME, bundle.version).run_id
        if run:
            metrics = {
                k.removeprefix("flowrisk."): float(v)
                for k, v in client.get_run(run).data.metrics.items()
                if k.startswith("flowrisk.")
            }
    return bundle, metrics


def app_from_settings(dataset: Path | None = None, model: str | None = None) -> FastAPI:
    """The app as ``flowrisk serve`` builds it from the settings (also a uvicorn factory)."""
    from flowrisk.config import get_settings
    from flowrisk.models.registry import connect, model_uri

    settings = get_settings()
    connect(settings.tracking_uri)
    holder = ModelHolder(model or model_uri(), registry_loader)
    return create_app(
        ApiConfig(
            store=Store(settings.audit_url),
            holder=holder,
            dataset=DatasetSource(dataset) if dataset else None,
            max_body_bytes=settings.api_max_body_bytes,
            max_transactions=settings.api_max_transactions,
            batch_max=settings.api_batch_max,
        )
    )
