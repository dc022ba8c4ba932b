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
from flowrisk.api.store import Store
from flowrisk.models.registry import Bundle
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


def registry_loader(uri: str) -> tuple[Bundle, dict[str, float]]:
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
