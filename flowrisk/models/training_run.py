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

from flowrisk.errors import ConfigError
from flowrisk.features import (
    FEATURE_SET,
    FEATURE_SET_VERSION,
    Baselines,
    fit_baselines,
    partitions_for,
    rule_scores,
)
from flowrisk.io import manifest_digest, read_labelled
from flowrisk.models.bands import BandShare, band_shares
from flowrisk.models.card import model_card
from flowrisk.models.dataset import Split, snapshot_dates, snapshots, split_snapshots
from flowrisk.models.evaluate import evaluate_scores
from flowrisk.models.learner import check_params
from flowrisk.models.raw_baseline import raw_sums, raw_sums_scores
from flowrisk.models.registry import HELDOUT_ARTIFACT, Registry
from flowrisk.models.scorer import RiskModel
from flowrisk.models.train import check_alert_budget, fit_model

__all__ = ["SPLIT_SEED", "TrainingResult", "train_and_register", "training_split"]

# The entity split does not follow the model seed: every version trained on a dataset is
# held out on the same entities, so versions can be compared on the same data.
SPLIT_SEED = 42

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


def _top_features(model: RiskModel, top: int = 10) -> list[tuple[str, float]]:
    gain = np.asarray(model.booster.feature_importance(importance_type="gain"), dtype=np.float64)
    share = gain / max(gain.sum(), 1e-12)
    order = np.argsort(-share, kind="stable")[:top]
    return [(model.features[i], float(share[i])) for i in order]


def _charts(fitted: _Fitted) -> dict[str, Any]:
    """The run's charts: PR curves and recall per typology of every model, flowrisk's
    calibration, importance and SHAP summary (on at most 2,000 held-out rows)."""
    from flowrisk.models import plots

    model, test, scores = fitted.model, fitted.split.test, fitted.scores
    y = test["label"].to_numpy()
    x = test.select(model.features).to_numpy().astype(np.float64)
    sample = np.random.default_rng(0).permutation(len(x))[:2000]
    contrib = np.asarray(model.booster.predict(x[sample], pred_contrib=True, num_threads=1))
    gain = np.asarray(model.booster.feature_importance(importance_type="gain"), dtype=np.float64)
    return {
        "precision_recall": plots.pr_curve({n: (y, s) for n, s in scores.items()}),
        "calibration": plots.calibration_curve(y, scores["flowrisk"]),
        "feature_importance": plots.feature_importance(model.features, gain),
        "shap_summary": plots.shap_summary(model.features, contrib[:, :-1], x[sample]),
        "recall_per_typology": plots.recall_per_typology(
            {n: m["recall_per_typology"] for n, m in fitted.metrics.items()}
        ),
    }


def training_split(
    frames: Mapping[str, pl.LazyFrame], labels: pl.DataFrame, say: Step | None = None
) -> tuple[list[datetime], Baselines, Split]:
    """The snapshot dates, sector baselines and train/valid/test split every training run of a
    dataset uses (``flowrisk train`` and ``flowrisk tune`` alike)."""
    say = say or (lambda _: None)
    dates = snapshot_dates(frames)
    say("fitting sector baselines")
    baselines = fit_baselines(frames, dates[0], partitions_for(frames))
    say(f"building {len(dates)} point-in-time snapshots")
    split = split_snapshots(snapshots(frames, labels, dates, baselines), seed=SPLIT_SEED)
    return dates, baselines, split


def _fit_and_evaluate(
    frames: dict[str, pl.LazyFrame],
    labels: pl.DataFrame,
    *,
    seed: int,
    alert_budget: float,
    params: Mapping[str, Any] | None,
    say: Step,
) -> _Fitted:
    """Snapshots, split, fit, and held-out scores of flowrisk and both baselines."""
    dates, baselines, split = training_split(frames, labels, say)
    say("training LightGBM")
    model, facts = fit_model(split, params=params, seed=seed, alert_budget=alert_budget)
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


def _log_run(
    registry: Registry,
    experiment: str,
    dataset: Path,
    fitted: _Fitted,
    run_params: dict[str, Any],
    charts: dict[str, Any],
) -> TrainingResult:
    """Log the run, register its model and attach the model card to the new version."""
    import mlflow

    with registry.start_run(experiment) as run_id, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params(run_params)
        _log_metrics(fitted)
        _log_artifacts(fitted, dataset, charts, Path(tmp))
        version = registry.log_model(fitted.model, fitted.baselines, fitted.split.test.to_pandas())
        card = model_card(
            version=version,
            run_id=run_id,
            metrics=fitted.metrics,
            split=fitted.split.describe(),
            dates=fitted.iso_dates,
            params=fitted.facts["params"],
            top_features=_top_features(fitted.model),
            dataset=str(dataset),
            dataset_digest=run_params["dataset_digest"],
            feature_set=f"{FEATURE_SET} {FEATURE_SET_VERSION}",
            params_file=run_params.get("params_file"),
            bands=_heldout_bands(fitted),
            thresholds=fitted.model.thresholds,
            alert_budget=fitted.model.alert_budget,
        )
        mlflow.log_text(card, "model_card.md")
        registry.describe(version, card)
    split = fitted.split.describe()
    return TrainingResult(version, run_id, fitted.metrics, split, fitted.iso_dates, card)


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
) -> TrainingResult:
    """Train on ``dataset`` (which must carry labels), evaluate on the held-out split against
    the rule engine and raw-sums LightGBM, log everything to ``registry``'s MLflow store and
    register the model. ``params`` override LightGBM's defaults (checked before any slow work);
    ``params_file``, the file they were read from, is recorded in the run and the model card."""
    from mlflow.exceptions import MlflowException

    params = check_params(params or {})
    check_alert_budget(alert_budget)
    say = step or (lambda _: None)
    say("connecting to MLflow")
    registry.ensure_experiment(experiment)  # fail before the slow work if the store is away
    frames, labels, _ = read_labelled(dataset, "training", verify=verify)
    fitted = _fit_and_evaluate(
        frames, labels, seed=seed, alert_budget=alert_budget, params=params, say=say
    )
    run_params = {
        "seed": seed,
        "split_seed": SPLIT_SEED,
        "alert_budget": alert_budget,
        "feature_set": FEATURE_SET,
        "feature_set_version": FEATURE_SET_VERSION,
        "dataset": str(dataset.resolve()),
        "dataset_digest": manifest_digest(dataset),
        "snapshot_dates": ",".join(fitted.iso_dates),
        "best_iteration": fitted.facts["best_iteration"],
        **{f"lgb_{k}": v for k, v in fitted.facts["params"].items()},
        **({"params_file": str(params_file.resolve())} if params_file is not None else {}),
    }
    say("drawing charts")
    charts = _charts(fitted)
    say("logging to MLflow and registering")
    try:
        return _log_run(registry, experiment, dataset, fitted, run_params, charts)
    except (MlflowException, OSError) as exc:
        raise ConfigError(f"MLflow at {registry.tracking_uri}: {str(exc).splitlines()[0]}") from exc
