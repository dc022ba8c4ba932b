"""One training run end to end: snapshots, split, fit, evaluation against both baselines, MLflow
tracking and registration. An edge module (reads the dataset, talks to MLflow)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.errors import ConfigError, InvalidParameter
from flowrisk.features import FEATURE_SET, FEATURE_SET_VERSION, fit_baselines, partitions_for
from flowrisk.io import read_dataset
from flowrisk.models.dataset import snapshots, split_snapshots
from flowrisk.models.evaluate import evaluate_scores
from flowrisk.models.raw_baseline import raw_sums, raw_sums_scores
from flowrisk.models.rules import rule_scores
from flowrisk.models.train import fit_model

__all__ = ["TrainingResult", "snapshot_dates", "train_and_register"]

Step = Callable[[str], None]


@dataclass
class TrainingResult:
    """What a data scientist reads after a run."""

    version: str
    run_id: str
    metrics: dict[str, dict[str, Any]]  # model name -> held-out metrics
    split: dict[str, dict[str, int]]
    dates: list[str]


def snapshot_dates(frames: dict[str, pl.LazyFrame], count: int = 4) -> list[datetime]:
    """``count`` month starts ending the day after the last transaction (the test snapshot),
    two months apart, so that every training snapshot has months of history behind it."""
    last = frames["transactions"].select(pl.col("ts").max()).collect().item()
    if last is None:
        raise InvalidParameter("dataset", "has no transactions to train on")
    year, month = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    end = datetime(year, month, 1, tzinfo=UTC)
    dates = []
    for k in range(count):
        m = end.month - 2 * k
        y = end.year + (m - 1) // 12
        dates.append(datetime(y, (m - 1) % 12 + 1, 1, tzinfo=UTC))
    return sorted(dates)


def _with_raw_sums(frames: dict[str, pl.LazyFrame], part: pl.DataFrame) -> pl.DataFrame:
    pieces = [
        part.filter(pl.col("as_of") == d).join(raw_sums(frames, d), on="entity_id")
        for d in part["as_of"].unique().sort()
    ]
    return pl.concat(pieces)


def train_and_register(
    dataset: Path,
    *,
    tracking_uri: str,
    artifact_root: Path | None,
    experiment: str = "flowrisk",
    seed: int = 42,
    alert_budget: float = 0.01,
    step: Step | None = None,
) -> TrainingResult:
    """Train on ``dataset`` (which must carry labels), evaluate on the held-out split against
    the rule engine and raw-sums LightGBM, log everything to MLflow and register the model."""
    say = step or (lambda _: None)
    import mlflow
    from mlflow.exceptions import MlflowException

    from flowrisk.models.registry import log_model, setup_tracking

    say("connecting to MLflow")
    try:  # fail before the expensive work when the tracking store cannot be reached
        setup_tracking(tracking_uri, experiment, artifact_root)
    except (MlflowException, OSError) as exc:
        raise ConfigError(f"MLflow at {tracking_uri}: {str(exc).splitlines()[0]}") from exc
    frames = read_dataset(dataset)
    tables = read_dataset(dataset, tables=["entities", "accounts", "transactions", "labels"])
    if "labels" not in tables:
        raise InvalidParameter("labels", f"{dataset} has no labels.parquet: training needs them")
    labels = tables["labels"].collect()
    dates = snapshot_dates(frames)
    say("fitting sector baselines")
    baselines = fit_baselines(frames, dates[0], partitions_for(frames))
    say(f"building {len(dates)} point-in-time snapshots")
    data = snapshots(frames, labels, dates, baselines)
    split = split_snapshots(data, seed=seed)
    say("training LightGBM")
    model, facts = fit_model(split, seed=seed, alert_budget=alert_budget)
    say("evaluating against the baselines")
    metrics = {
        "flowrisk": evaluate_scores(model.predict(split.test), split.test),
        "rules": evaluate_scores(rule_scores(split.test), split.test, calibrated=False),
    }
    raw = {
        n: _with_raw_sums(frames, p)
        for n, p in (("train", split.train), ("valid", split.valid), ("test", split.test))
    }
    metrics["raw_sums_lightgbm"] = evaluate_scores(
        raw_sums_scores(raw["train"], raw["valid"], raw["test"], seed=seed),
        raw["test"],
        calibrated=False,
    )
    say("logging to MLflow and registering")
    try:
        with mlflow.start_run() as run:
            mlflow.log_params(
                {
                    "seed": seed,
                    "alert_budget": alert_budget,
                    "feature_set": FEATURE_SET,
                    "feature_set_version": FEATURE_SET_VERSION,
                    "snapshot_dates": ",".join(d.date().isoformat() for d in dates),
                    "best_iteration": facts["best_iteration"],
                    **{f"lgb_{k}": v for k, v in facts["params"].items()},
                }
            )
            for name, values in metrics.items():
                mlflow.log_metrics(
                    {
                        f"{name}.{k}": float(v)
                        for k, v in values.items()
                        if isinstance(v, int | float)
                    }
                )
                mlflow.log_dict(values, f"metrics/{name}.json")
            mlflow.log_dict(baselines.to_dict(), "baselines.json")
            mlflow.log_dict(split.describe(), "split.json")
            manifest = dataset / "manifest.json"
            if manifest.is_file():
                mlflow.log_artifact(str(manifest))
            version = log_model(model, baselines, split.test.to_pandas())
    except (MlflowException, OSError) as exc:
        raise ConfigError(f"MLflow at {tracking_uri}: {str(exc).splitlines()[0]}") from exc
    return TrainingResult(
        version=version,
        run_id=run.info.run_id,
        metrics=metrics,
        split=split.describe(),
        dates=[d.date().isoformat() for d in dates],
    )
