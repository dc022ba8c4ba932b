"""One training run end to end: snapshots, split, fit, evaluation against both baselines, MLflow
tracking and registration. An edge module (reads the dataset, talks to MLflow through a
:class:`~flowrisk.models.registry.Registry`)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import ConfigError, InvalidParameter
from flowrisk.features import (
    FEATURE_SET,
    FEATURE_SET_VERSION,
    Baselines,
    Partitioned,
    fit_baselines,
    fit_baselines_partitioned,
    partitions_for,
    rule_scores,
)
from flowrisk.io import dataset_digest, dataset_label, read_labelled
from flowrisk.io.cluster import Engine, check_engine, on_cluster
from flowrisk.models.bands import BandShare, band_shares
from flowrisk.models.card import model_card
from flowrisk.models.dataset import Split, snapshot_dates, snapshots, split_snapshots
from flowrisk.models.evaluate import evaluate_scores
from flowrisk.models.feedback import feedback_use
from flowrisk.models.learner import Report, check_params
from flowrisk.models.raw_baseline import raw_sums, raw_sums_scores
from flowrisk.models.registry import HELDOUT_ARTIFACT, Registry
from flowrisk.models.run_charts import run_charts, top_features
from flowrisk.models.scorer import RiskModel
from flowrisk.models.tracking import (
    CurveLogger,
    log_datasets,
    run_name,
    run_tags,
    store_failures,
)
from flowrisk.models.train import check_alert_budget, fit_model
from flowrisk.models.training_cluster import Cluster

__all__ = [
    "CURVE_METRIC",
    "SPLIT_SEED",
    "TrainingResult",
    "train_and_register",
    "training_split",
]

# The entity split does not follow the model seed: every version trained on a dataset is
# held out on the same entities, so versions can be compared on the same data.
SPLIT_SEED = 42
CURVE_METRIC = "valid.average_precision"  # LightGBM's validation curve, one step per round

Step = Callable[[str], None]


@dataclass
class TrainingResult:
    """What a data scientist reads after a run."""

    version: str
    run_id: str
    metrics: dict[str, dict[str, Any]]  # model name -> held-out metrics
    split: dict[str, dict[str, int]]
    dates: list[str]
    card: str  # the model card, Markdown


@dataclass(frozen=True)
class _Fitted:
    """A fitted model and everything its run logs: data, scores and metrics of all models."""

    dates: list[datetime]
    baselines: Baselines
    split: Split
    model: RiskModel
    facts: dict[str, Any]
    scores: dict[str, np.ndarray]
    metrics: dict[str, dict[str, Any]]

    @property
    def iso_dates(self) -> list[str]:
        return [d.date().isoformat() for d in self.dates]


def _with_raw_sums(frames: Mapping[str, pl.LazyFrame], part: pl.DataFrame) -> pl.DataFrame:
    pieces = [
        part.filter(pl.col("as_of") == d).join(raw_sums(frames, d), on="entity_id")
        for d in part["as_of"].unique().sort()
    ]
    return pl.concat(pieces)


def training_split(
    frames: Mapping[str, pl.LazyFrame],
    labels: pl.DataFrame,
    say: Step | None = None,
    feedback: pl.DataFrame | None = None,
    on: Partitioned | None = None,
) -> tuple[list[datetime], Baselines, Split]:
    """The snapshot dates, sector baselines and train/valid/test split every training run of a
    dataset uses (``flowrisk train`` and ``flowrisk tune`` alike), with the analysts'
    decisions of ``feedback`` in its labels; with ``on``, baselines and snapshots are built
    partition by partition there (a Dask cluster: the same split)."""
    say = say or (lambda _: None)
    dates = snapshot_dates(frames)
    say("fitting sector baselines")
    if on is None:
        baselines = fit_baselines(frames, dates[0], partitions_for(frames))
    else:
        baselines = fit_baselines_partitioned(frames, dates[0], on)
    say(f"building {len(dates)} point-in-time snapshots")
    data = snapshots(frames, labels, dates, baselines, feedback, on)
    split = split_snapshots(data, seed=SPLIT_SEED)
    return dates, baselines, split


def _fit_and_evaluate(
    frames: dict[str, pl.LazyFrame],
    prepared: tuple[list[datetime], Baselines, Split],
    *,
    seed: int,
    alert_budget: float,
    params: Mapping[str, Any] | None,
    say: Step,
    report: Report | None = None,
    cluster: Cluster | None = None,
) -> _Fitted:
    """Fit on the prepared split (``report`` hears the validation curve) — on the cluster when
    the training matrix is larger than its limit —, and held-out scores of flowrisk and both
    baselines."""
    dates, baselines, split = prepared
    client = cluster.fit_client(split) if cluster is not None else None
    say("training LightGBM" + (" on the Dask cluster" if client is not None else ""))
    model, facts = fit_model(
        split, params=params, seed=seed, alert_budget=alert_budget, report=report, client=client
    )
    say("evaluating against the baselines")
    train, valid, test = (_with_raw_sums(frames, p) for p in (split.train, split.valid, split.test))
    scores = {
        "flowrisk": model.predict(split.test),
        "rules": rule_scores(split.test),
        "raw_sums_lightgbm": raw_sums_scores(train, valid, test, seed=seed),
    }
    metrics = {
        name: evaluate_scores(s, split.test, calibrated=name == "flowrisk")
        for name, s in scores.items()
    }
    return _Fitted(dates, baselines, split, model, facts, scores, metrics)


def _log_metrics(fitted: _Fitted) -> None:
    import mlflow

    for name, values in fitted.metrics.items():
        numbers = {f"{name}.{k}": float(v) for k, v in values.items() if isinstance(v, int | float)}
        mlflow.log_metrics(numbers)
        mlflow.log_dict(values, f"metrics/{name}.json")


def _log_artifacts(fitted: _Fitted, dataset: Path, charts: dict[str, Any], tmp: Path) -> None:
    """Baselines, split sizes, the dataset manifest, the held-out profiles and the charts."""
    import mlflow

    from flowrisk.models.plots import write_charts

    mlflow.log_dict(fitted.baselines.to_dict(), "baselines.json")
    mlflow.log_dict(fitted.split.describe(), "split.json")
    manifest = dataset / "manifest.json"
    if manifest.is_file():
        mlflow.log_artifact(str(manifest))
    heldout = tmp / Path(HELDOUT_ARTIFACT).name
    fitted.split.test.write_parquet(heldout)
    mlflow.log_artifact(str(heldout), str(Path(HELDOUT_ARTIFACT).parent))
    for path in write_charts(charts, tmp / "plots"):
        mlflow.log_artifact(str(path), "plots")


def _heldout_bands(fitted: _Fitted) -> list[BandShare]:
    """The held-out entities' share per band against the alert budget's targets."""
    bands = fitted.model.score(fitted.split.test)["band"].cast(pl.String).value_counts()
    return band_shares(dict(bands.iter_rows()), fitted.model.alert_budget)


@dataclass(frozen=True)
class _Source:
    """The dataset a run trains on, as its record names it."""

    path: Path
    label: str  # its name in run names (``world (validated)`` for a validated copy)
    digest: str  # :func:`~flowrisk.io.dataset_digest`: equal digests, equal data
    feedback: pl.DataFrame | None = None  # analysts' decisions (``flowrisk feedback export``)


def _log_run(
    registry: Registry,
    run_id: str,
    source: _Source,
    fitted: _Fitted,
    charts: dict[str, Any],
    params_file: Path | None,
) -> TrainingResult:
    """Log the results in the open run (the learner's parameters, metrics, artifacts), register
    its model and attach the model card to the new version."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params(
            {
                "best_iteration": fitted.facts["best_iteration"],
                "fitted_on": fitted.facts["fitted_on"],
                **{f"lgb_{k}": v for k, v in fitted.facts["params"].items()},
            }
        )
        _log_metrics(fitted)
        _log_artifacts(fitted, source.path, charts, Path(tmp))
        version = registry.log_model(fitted.model, fitted.baselines, fitted.split.test.to_pandas())
        card = model_card(
            version=version,
            run_id=run_id,
            metrics=fitted.metrics,
            split=fitted.split.describe(),
            dates=fitted.iso_dates,
            params=fitted.facts["params"],
            top_features=top_features(fitted.model),
            dataset=str(source.path),
            dataset_digest=source.digest,
            feature_set=f"{FEATURE_SET} {FEATURE_SET_VERSION}",
            params_file=str(params_file.resolve()) if params_file is not None else None,
            bands=_heldout_bands(fitted),
            thresholds=fitted.model.thresholds,
            alert_budget=fitted.model.alert_budget,
            feedback=feedback_use(source.feedback, fitted.dates),
        )
        mlflow.log_text(card, "model_card.md")
        registry.describe(version, card)
    split = fitted.split.describe()
    return TrainingResult(version, run_id, fitted.metrics, split, fitted.iso_dates, card)


def dataset_params(path: Path, digest: str, dates: list[datetime]) -> dict[str, Any]:
    """The parameters every run on a dataset is known by, training and tuning alike: the split
    seed, the feature set, the dataset, its digest and the snapshot dates."""
    return {
        "split_seed": SPLIT_SEED,
        "feature_set": FEATURE_SET,
        "feature_set_version": FEATURE_SET_VERSION,
        "dataset": str(path.resolve()),
        "dataset_digest": digest,
        "snapshot_dates": ",".join(d.date().isoformat() for d in dates),
    }


def _run_params(
    source: _Source,
    dates: list[datetime],
    *,
    seed: int,
    alert_budget: float,
    params_file: Path | None,
) -> dict[str, Any]:
    """The parameters a run is known by before it fits (the learner's follow the fit)."""
    return {
        "seed": seed,
        "alert_budget": alert_budget,
        **dataset_params(source.path, source.digest, dates),
        **({"params_file": str(params_file.resolve())} if params_file is not None else {}),
    }


def _train_in_run(
    registry: Registry,
    run_id: str,
    source: _Source,
    frames: dict[str, pl.LazyFrame],
    labels: pl.DataFrame,
    *,
    seed: int,
    alert_budget: float,
    params: Mapping[str, Any],
    params_file: Path | None,
    say: Step,
    cluster: Cluster,
) -> TrainingResult:
    """Everything a training run does, inside its open MLflow run: the split (logged as the
    run's datasets), the fit (its validation curve logged round by round), the evaluation,
    the charts, the model and its card."""
    import mlflow

    uri = registry.tracking_uri
    dates, baselines, split = training_split(frames, labels, say, source.feedback, cluster.on)
    run_params = _run_params(
        source, dates, seed=seed, alert_budget=alert_budget, params_file=params_file
    )
    with store_failures(uri):
        parts = {"training": split.train, "validation": split.valid, "test": split.test}
        log_datasets(parts, dataset=source.path, label=source.label, digest=source.digest)
        mlflow.log_params(run_params)
    curve = CurveLogger(uri, run_id, CURVE_METRIC)
    try:
        fitted = _fit_and_evaluate(
            frames,
            (dates, baselines, split),
            seed=seed,
            alert_budget=alert_budget,
            params=params,
            say=say,
            report=curve,
            cluster=cluster,
        )
    finally:
        curve.flush()  # the rounds run so far, also of a fit that failed
    say("drawing charts")
    charts = run_charts(fitted.model, fitted.split.test, fitted.scores, fitted.metrics)
    say("logging to MLflow and registering")
    with store_failures(uri):
        return _log_run(registry, run_id, source, fitted, charts, params_file)


def train_and_register(
    dataset: Path,
    *,
    registry: Registry,
    experiment: str = "flowrisk",
    seed: int = 42,
    alert_budget: float = 0.01,
    params: Mapping[str, Any] | None = None,
    params_file: Path | None = None,
    step: Step | None = None,
    verify: bool = True,
    feedback: pl.DataFrame | None = None,
    engine: Engine = "local",
    scheduler: str | None = None,
    fit_above: int | None = None,
) -> TrainingResult:
    """Train on ``dataset`` (which must carry labels, overridden by the decisions of
    ``feedback`` point in time), evaluate on the held-out split against
    the rule engine and raw-sums LightGBM, log everything to ``registry``'s MLflow store and
    register the model. ``params`` override LightGBM's defaults (checked before any slow work);
    ``params_file``, the file they were read from, is recorded in the run and the model card.

    The run opens before the snapshots are built, so its duration is the training's; it is
    named after the dataset and the time (:func:`~flowrisk.models.tracking.run_name`) and
    tagged from the start (:func:`~flowrisk.models.tracking.run_tags`). ``seed`` seeds
    LightGBM only: the entity split is fixed (:data:`SPLIT_SEED`).

    The ``dask`` engine builds the baselines and snapshots partition by partition on the
    workers of ``scheduler`` (the same split as here) and fits LightGBM there
    (``lightgbm.dask``) when the training matrix is larger than ``fit_above`` bytes (default
    :func:`cluster_fit_above`); below it the fit runs here, as with the local engine."""
    from mlflow.exceptions import MlflowException

    params = check_params(params or {})
    check_alert_budget(alert_budget)
    check_engine(engine, scheduler)
    if fit_above is not None and fit_above < 0:
        raise InvalidParameter("fit_above", f"must be at least 0, got {fit_above}")
    say = step or (lambda _: None)
    say("connecting to MLflow")
    registry.ensure_experiment(experiment)  # fail before the slow work if the store is away
    frames, labels, _ = read_labelled(dataset, "training", verify=verify)
    source = _Source(dataset, dataset_label(dataset), dataset_digest(dataset), feedback)
    tags = run_tags("train", dataset=dataset, label=source.label, digest=source.digest)
    try:
        with (
            on_cluster(scheduler if engine == "dask" else None) as client,
            registry.start_run(
                experiment, name=run_name("train", source.label), tags=tags
            ) as run_id,
        ):
            on = None
            if client is not None:
                on = Partitioned(str(dataset.resolve()), partitions_for(frames), client)
            return _train_in_run(
                registry,
                run_id,
                source,
                frames,
                labels,
                seed=seed,
                alert_budget=alert_budget,
                params=params,
                params_file=params_file,
                say=say,
                cluster=Cluster(on, fit_above),
            )
    except MlflowException as exc:
        raise ConfigError(f"MLflow at {registry.tracking_uri}: {str(exc).splitlines()[0]}") from exc
