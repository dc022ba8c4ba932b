"""The loaded model: ``GET /v1/model`` and ``POST /v1/model/reload`` (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowrisk.api.canary import failure_reason
from flowrisk.api.deps import AdminKey, AnalystKey, Audited, Config, MetricsDep
from flowrisk.api.problems import ApiProblem, responses
from flowrisk.api.schemas import ModelInfo
from flowrisk.api.service import ModelHolder
from flowrisk.models.registry_names import MODEL_NAME, uri_ref

__all__ = ["router"]

router = APIRouter(prefix="/v1/model", tags=["model"])
VERSION_MAX = 32  # the audit trail's model_version column


@router.get("", response_model=ModelInfo, responses=responses(401, 403), summary="The loaded model")
def model_info(_: AnalystKey, config: Config) -> dict[str, Any]:
    """The loaded model: name, version, alias, feature set and held-out metrics."""
    return _model_info(config.holder)


RELOAD = """Load the current target of the model URI (e.g. a new champion) without a restart.

Before the new version serves anything it must pass the canary: a fixed payload scored and
explained through the path of `POST /v1/scores`, and the held-out sample its bundle carries,
scored by the model; every probability must be finite and within [0, 1], every band known and
the explanation present. A version that cannot be loaded (missing, unreadable, truncated) or
fails a check is refused with a 503 problem document naming the reason and the version still
serving, which keeps serving. Every reload, refused or not, leaves an audit row (an accepted
one records `<old>-><new>` as its model version); while the audit store cannot take a write,
no reload happens."""


@router.post(
    "/reload",
    response_model=ModelInfo,
    responses=responses(401, 403, 503),
    description=RELOAD,
    summary="Reload the model (after its canary)",
)
def reload(_: AdminKey, config: Config, metrics: MetricsDep, note: Audited) -> dict[str, Any]:
    """Swap in the URI's current target once it passes its canary; otherwise keep the model
    being served and answer 503 saying why (never a bare 500: any error counts as a refusal)."""
    holder = config.holder
    try:
        config.store.probe_write()  # a reload the trail cannot record does not happen
        previous, current = holder.reload()
    except Exception as exc:  # whatever went wrong, the old model serves and the client is told
        kept = holder.current.bundle.version
        raise ApiProblem(
            503, "Reload refused", f"{failure_reason(exc)}; still serving version {kept}"
        ) from exc
    metrics.model_version(current.bundle.version)
    if config.dataset is not None and config.dataset.prepared is not None:
        config.dataset.prepare(current, background=True)  # lookups from memory for the new model
    note.results = [
        {"model_version": f"{previous.bundle.version}->{current.bundle.version}"[:VERSION_MAX]}
    ]
    return _model_info(holder)


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
