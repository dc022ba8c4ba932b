"""The loaded model: ``GET /v1/model`` and ``POST /v1/model/reload`` (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowrisk.api.deps import AdminKey, AnalystKey, Config, MetricsDep
from flowrisk.api.problems import ApiProblem, responses
from flowrisk.api.schemas import ModelInfo
from flowrisk.api.service import ModelHolder
from flowrisk.errors import FlowriskError
from flowrisk.models.registry_names import MODEL_NAME, uri_ref

__all__ = ["router"]

router = APIRouter(prefix="/v1/model", tags=["model"])


@router.get("", response_model=ModelInfo, responses=responses(401, 403))
def model_info(_: AnalystKey, config: Config) -> dict[str, Any]:
    """The loaded model: name, version, alias, feature set and held-out metrics."""
    return _model_info(config.holder)


@router.post("/reload", response_model=ModelInfo, responses=responses(401, 403, 503))
def reload(_: AdminKey, config: Config, metrics: MetricsDep) -> dict[str, Any]:
    """Load the current target of the model URI (e.g. a new champion) without a restart;
    if it cannot be loaded, the service keeps the model it has and says so (503)."""
    try:
        _previous, current = config.holder.reload()
    except (FlowriskError, OSError) as exc:
        kept = config.holder.current.bundle.version
        raise ApiProblem(503, "Reload failed", f"{exc}; still serving version {kept}") from exc
    metrics.model_version(current.bundle.version)
    return _model_info(config.holder)


def _model_info(holder: ModelHolder) -> dict[str, Any]:
    loaded = holder.current
    bundle = loaded.bundle
    ref = uri_ref(holder.uri)
    alias = ref.removeprefix("@") if ref.startswith("@") else None
    return {
        "name": MODEL_NAME,
        "uri": holder.uri,
        "version": bundle.version,
        "alias": alias,
        "feature_set": bundle.model.feature_set,
        "feature_set_version": bundle.model.feature_set_version,
        "loaded_at": loaded.loaded_at,
        "heldout_metrics": loaded.metrics,
    }
