"""What operators and probes read: ``/healthz``, ``/readyz`` and ``/metrics`` (no key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from flowrisk.api.deps import Config, MetricsDep
from flowrisk.api.problems import ApiProblem, responses

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses=responses(503))
def readyz(config: Config) -> dict[str, Any]:
    """A model is loaded and the audit database answers."""
    try:
        config.store.ping()
    except Exception as exc:
        raise ApiProblem(503, "Not ready", f"audit database: {exc}") from exc
    return {"status": "ready", "model_version": config.holder.current.bundle.version}


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus metrics: requests, latencies, scores by band, model version."""
    body, content_type = metrics.render()
    return PlainTextResponse(body, media_type=content_type)
