"""A batch scoring run in MLflow, for the data scientist who watches a model in production: one
run per ``flowrisk score`` in its own experiment (``flowrisk-scoring``, beside ``flowrisk`` for
training and ``flowrisk-tune`` for tuning, so scoring runs never crowd the training runs a
comparison is made on), with the PSI of every feature as metrics and ``run.json`` as artifact.
An edge module: talks to MLflow through a :class:`~flowrisk.models.registry.Registry`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from flowrisk.errors import ModelNotFound
from flowrisk.models.batch import ScoreRun
from flowrisk.models.registry import Registry
from flowrisk.models.tracking import store_errors

__all__ = ["SCORING_EXPERIMENT", "log_scoring_run", "scoring_run_record"]

SCORING_EXPERIMENT = "flowrisk-scoring"


def scoring_run_record(
    run: ScoreRun,
) -> tuple[str, dict[str, str], dict[str, Any], dict[str, float]]:
    """The run name, tags, parameters and metrics a batch run is logged with: ``psi.<feature>``
    per feature, ``drift.max_psi`` and ``drift.drifting_features`` (how many pass the
    threshold), the entity and band counts."""
    day = run.as_of[:10]
    name = f"score {Path(run.source).name} {day}"
    tags = {
        "flowrisk.kind": "scoring",
        "flowrisk_version": run.flowrisk_version,
        "model_uri": run.model_uri,
        **({"model_version": run.model_version} if run.model_version else {}),
        **({"dataset_digest": run.dataset_digest} if run.dataset_digest else {}),
    }
    params = {
        "as_of": run.as_of,
        "source": run.source,
        "out": run.out,
        "engine": run.engine,
        "partitions": run.partitions,
    }
    metrics: dict[str, float] = {
        "entities": float(run.entities),
        "explained": float(run.explained),
        **{f"band.{band}": float(n) for band, n in run.bands.items()},
    }
    drift = run.drift
    if drift is not None:
        tags["drift_status"] = drift.status
        if drift.note:
            tags["drift_note"] = drift.note
        if drift.status == "computed":
            params["drift_threshold"] = drift.threshold
            params["drift_epsilon"] = drift.epsilon
            params["drift_reference_as_of"] = drift.reference_as_of
            metrics["drift.max_psi"] = float(drift.max_psi or 0.0)
            metrics["drift.drifting_features"] = float(len(drift.drifting))
            metrics.update({f"psi.{feature}": value for feature, value in drift.psi.items()})
    return name, tags, params, metrics


@store_errors
def log_scoring_run(registry: Registry, run: ScoreRun, experiment: str = SCORING_EXPERIMENT) -> str:
    """Log ``run`` as one MLflow run of ``experiment`` (see :func:`scoring_run_record`), tagged
    with the training run of its model version when the registry knows it; returns its id."""
    import mlflow

    name, tags, params, metrics = scoring_run_record(run)
    if run.model_version:
        try:
            trained_by = registry.version(run.model_version).run_id
        except ModelNotFound:
            trained_by = None
        if trained_by:
            tags["training_run_id"] = trained_by
    with registry.start_run(experiment) as run_id:
        mlflow.set_tags({"mlflow.runName": name, **tags})
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.log_dict(asdict(run), "run.json")
    return run_id
