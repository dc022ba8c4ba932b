"""The FastAPI app factory: the routers of ``routes`` over one ``ApiConfig``, problem documents
for every error, and the ASGI layer that limits sizes, counts and audits (``middleware``)."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI

from flowrisk.api.metrics import Metrics
from flowrisk.api.middleware import AuditMiddleware
from flowrisk.api.problems import install_problem_handlers
from flowrisk.api.routes import ROUTERS
from flowrisk.api.service import ApiConfig, ModelHolder
from flowrisk.audit import Store
from flowrisk.models.registry import Bundle, Registry
from flowrisk.models.scoring import DatasetSource

__all__ = ["ApiConfig", "app_from_settings", "create_app", "registry_loader"]

DESCRIPTION = (
    "Explainable money-laundering risk scores of people and companies. Every lookup is "
    "authorised with an API key and recorded in an append-only audit trail."
)


def create_app(config: ApiConfig) -> FastAPI:
    """The service over ``config``: routes, auth, problems, audit, metrics."""
    metrics = Metrics()
    app = FastAPI(title="flowrisk", version="1", description=DESCRIPTION)
    app.state.config, app.state.metrics = config, metrics
    for router in ROUTERS:
        app.include_router(router)
    install_problem_handlers(app)
    metrics.model_version(config.holder.current.bundle.version)
    app.add_middleware(AuditMiddleware, config=config, metrics=metrics)
    gc.collect()
    gc.freeze()  # long-lived objects out of the collector's way: no p99 spikes from GC
    return app


def registry_loader(uri: str, registry: Registry | None = None) -> tuple[Bundle, dict[str, float]]:
    """Load a registered model and the held-out metrics of its run, from ``registry`` (default:
    the one the settings name)."""
    from flowrisk.config import get_settings

    registry = registry or Registry.from_settings(get_settings())
    bundle = registry.load_bundle(uri)
    metrics = registry.run_metrics(bundle.version) if bundle.version is not None else {}
    return bundle, metrics


def app_from_settings(dataset: Path | None = None, model: str | None = None) -> FastAPI:
    """The app as ``flowrisk serve`` builds it from the settings (also a uvicorn factory)."""
    from functools import partial

    from flowrisk.config import get_settings
    from flowrisk.models.registry import model_uri

    settings = get_settings()
    registry = Registry.from_settings(settings)
    holder = ModelHolder(model or model_uri(), partial(registry_loader, registry=registry))
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
