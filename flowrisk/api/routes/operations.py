"""What operators and probes read: ``/healthz``, ``/readyz`` and ``/metrics`` (no key).

``/healthz`` does no I/O, so a blocked database never stalls it; ``/readyz`` asks the audit
store in a worker thread within the store's time limit: a ping while the last audit write
succeeded, a real small write (``probe_write``) once one failed, and ready again only when that
write succeeds."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from flowrisk.api.deps import Config, MetricsDep
from flowrisk.api.middleware import audit_health, audit_time_limit
from flowrisk.api.problems import ApiProblem, responses
from flowrisk.api.schemas import Health, Readiness

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process is up (no I/O: answered even while the audit database is blocked)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses=responses(503), summary="Readiness")
async def readyz(request: Request, config: Config, metrics: MetricsDep) -> dict[str, Any]:
    """A model is loaded and the audit store takes writes (503 while it does not)."""
    health = audit_health(request.app)
    store = config.store
    check = store.ping if health.healthy else store.probe_write
    limit = audit_time_limit(store)
    try:
        with anyio.fail_after(limit):
            await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
    except TimeoutError:
        raise ApiProblem(
            503, "Not ready", f"audit store {store.safe_url}: no answer within {limit:.1f} s"
        ) from None
    except Exception as exc:  # whatever the driver raises: the store is not usable
        reason = health.reason or str(exc).splitlines()[0]
        raise ApiProblem(503, "Not ready", f"audit store {store.safe_url}: {reason}") from exc
    if not health.healthy:
        health.recovered()
        metrics.audit_ready(True)
    return {"status": "ready", "model_version": config.holder.current.bundle.version}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def prometheus(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus metrics: requests, latencies, scores by band, model version, audit failures."""
    body, content_type = metrics.render()
    return PlainTextResponse(body, media_type=content_type)
