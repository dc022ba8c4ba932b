"""The FastAPI app factory: the routers of ``routes`` over one ``ApiConfig``, problem documents
for every error, and the ASGI layers around them, outermost first: the JSON request log
(``logs``), the request id, body limit, metrics and audit (``middleware``), then the header
limits and the request timeout (``limits``), so that the audit sees a timed-out request's 503.

``app_from_settings`` is what ``flowrisk serve`` runs; ``app_from_environment`` is the same as a
uvicorn factory for ``serve --workers N`` (each worker builds its own app from the settings)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from flowrisk.api.console import CONSOLE_ROUTERS, install_console
from flowrisk.api.deps import KEY_CHECKERS, TooManyFailures
from flowrisk.api.docs import install_docs
from flowrisk.api.limits import AuthFailures, LimitsMiddleware
from flowrisk.api.logs import RequestLogMiddleware
from flowrisk.api.metrics import Metrics
from flowrisk.api.middleware import AuditMiddleware
from flowrisk.api.problems import install_problem_handlers, problem, responses
from flowrisk.api.routes import ROUTERS
from flowrisk.api.service import ApiConfig, ModelHolder
from flowrisk.cases import CaseStore
from flowrisk.models.registry import Bundle, Registry
from flowrisk.models.scoring import DatasetSource

__all__ = [
    "ApiConfig",
    "app_from_environment",
    "app_from_settings",
    "create_app",
    "registry_loader",
]

log = logging.getLogger("flowrisk.api")

DESCRIPTION = (
    "Explainable money-laundering risk scores of people and companies. Every lookup is "
    "authorised with an API key and recorded in an append-only audit trail."
)


def create_app(config: ApiConfig) -> FastAPI:
    """The service over ``config``: routes, auth, problems, audit, limits, logs, metrics."""
    metrics = Metrics()
    app = FastAPI(
        title="flowrisk",
        version="1",
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,  # install_docs serves /docs and /redoc from the package's own assets
        redoc_url=None,
        responses=responses(431, 503),  # any request: its headers (431), the timeout (503)
    )
    app.state.config, app.state.metrics = config, metrics
    app.state.auth_failures = AuthFailures(config.auth_failures_per_minute)
    app.state.key_checkers = anyio.CapacityLimiter(KEY_CHECKERS)
    for router in ROUTERS:
        app.include_router(router, responses=responses(429) if _checks_keys(router) else None)
    for router in CONSOLE_ROUTERS:
        app.include_router(router, include_in_schema=False)
    install_problem_handlers(app)
    install_console(app, config)  # after the problem handlers: it keeps the API's 422
    install_docs(app)
    app.add_exception_handler(TooManyFailures, _too_many_failures)
    metrics.model_version(config.holder.current.bundle.version)
    app.add_middleware(
        LimitsMiddleware,
        max_header_bytes=config.max_header_bytes,
        max_headers=config.max_headers,
        request_timeout=config.request_timeout,
    )
    app.add_middleware(AuditMiddleware, config=config, metrics=metrics)
    app.add_middleware(RequestLogMiddleware)  # added last: the outermost of the three
    gc.collect()
    gc.freeze()  # long-lived objects out of the collector's way: no p99 spikes from GC
    return app


def _checks_keys(router: APIRouter) -> bool:
    """Whether a router's routes check keys (one documents 401): they may also answer 429."""
    return any(401 in getattr(route, "responses", {}) for route in router.routes)


async def _too_many_failures(request: Request, exc: Exception) -> JSONResponse:
    """429 with ``Retry-After``: the seconds until the oldest failure leaves the window."""
    assert isinstance(exc, TooManyFailures)
    headers = {"Retry-After": str(exc.retry_after)}
    return problem(429, exc.title, exc.detail, request.url.path, headers=headers)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The service's start and stop, logged with what it serves."""
    config: ApiConfig = app.state.config
    facts = {
        "model_uri": config.holder.uri,
        "model_version": config.holder.current.bundle.version,
        "dataset": str(config.dataset.folder) if config.dataset else None,
        "audit_store": config.store.safe_url,
    }
    log.info("service started", extra={"fields": facts})
    yield
    log.info("service stopped", extra={"fields": {"model_version": facts["model_version"]}})


def registry_loader(uri: str, registry: Registry | None = None) -> tuple[Bundle, dict[str, float]]:
    """Load a registered model and the held-out metrics of its run, from ``registry`` (default:
    the one the settings name)."""
    from flowrisk.config import get_settings

    registry = registry or Registry.from_settings(get_settings())
    bundle = registry.load_bundle(uri)
    metrics = registry.run_metrics(bundle.version) if bundle.version is not None else {}
    return bundle, metrics


def app_from_settings(
    dataset: Path | None = None, model: str | None = None, scores: Path | None = None
) -> FastAPI:
    """The app as ``flowrisk serve`` builds it from the settings (``scores``: the scoring
    output the console's alert queue shows)."""
    from functools import partial

    from flowrisk.config import get_settings
    from flowrisk.models.registry import model_uri

    settings = get_settings()
    registry = Registry.from_settings(settings)
    holder = ModelHolder(model or model_uri(), partial(registry_loader, registry=registry))
    # the cases' migrations run here, at start, on the audit database
    cases = CaseStore(settings.audit_url, timeout=settings.audit_timeout_seconds)
    source = DatasetSource(dataset) if dataset else None
    if source is not None:
        # lookups then read profiles built once in the batch path (until then, the feature path)
        source.prepare(holder.current, background=True)
    return create_app(
        ApiConfig(
            store=cases.audit,
            cases=cases,
            holder=holder,
            dataset=source,
            max_body_bytes=settings.api_max_body_bytes,
            max_transactions=settings.api_max_transactions,
            batch_max=settings.api_batch_max,
            max_header_bytes=settings.api_max_header_bytes,
            max_headers=settings.api_max_headers,
            request_timeout=settings.api_request_timeout_seconds,
            auth_failures_per_minute=settings.api_auth_failures_per_minute,
            purpose_min_length=settings.purpose_min_length,
            scores=scores,
            session_minutes=settings.console_session_minutes,
            secure_cookie=settings.console_secure_cookie,
            locale=getattr(settings, "locale", None) or "en",
            reporting_entity_id=settings.reporting_entity_id,
        )
    )


def app_from_environment() -> FastAPI:
    """The uvicorn factory of ``flowrisk serve --workers N``: the app of
    ``app_from_settings`` over the dataset and model the serve command put in the environment
    (``FLOWRISK_SERVE_DATASET``, ``FLOWRISK_SERVE_MODEL``, ``FLOWRISK_SERVE_SCORES``)."""
    from flowrisk.config import get_settings

    settings = get_settings()
    return app_from_settings(settings.serve_dataset, settings.serve_model, settings.serve_scores)
