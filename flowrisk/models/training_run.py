"""One training run end to end: snapshots, split, fit, evaluation against both baselines, MLflow
tracking and registration. An edge module (reads the dataset, talks to MLflow)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import ConfigError, InvalidParameter
from flowrisk.features import FEATURE_SET, FEATURE_SET_VERSION, fit_baselines, partitions_for
from flowrisk.io import read_dataset
from flowrisk.models.card import model_card
from flowrisk.models.dataset import Split, snapshots, split_snapshots
from flowrisk.models.evaluate import evaluate_scores
from flowrisk.models.raw_baseline import raw_sums, raw_sums_scores
from flowrisk.models.rules import rule_scores
from flowrisk.models.scorer import RiskModel
from flowrisk.models.train import fit_model

__all__ = ["SPLIT_SEED", "TrainingResult", "snapshot_dates", "train_and_register"]

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


def dataset_digest(dataset: Path) -> str | None:
    """SHA-256 of the dataset's manifest (which lists every file's own digest), if it has one."""
    manifest = dataset / "manifest.json"
    return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None


def _top_features(model: RiskModel, top: int = 10) -> list[tuple[str, float]]:
    gain = np.asarray(model.booster.feature_importance(importance_type="gain"), dtype=np.float64)
    share = gain / max(gain.sum(), 1e-12)
    order = np.argsort(-share, kind="stable")[:top]
    return [(model.features[i], float(share[i])) for i in order]


def _charts(
    model: RiskModel, split: Split, scores: Mapping[str, np.ndarray], metrics: dict[str, Any]
) -> dict[str, Any]:
    """The run's charts: PR curves and recall per typology of every model, flowrisk's
    calibration, importance and SHAP summary (on at most 2,000 held-out rows)."""
    from flowrisk.models import plots

    y = split.test["label"].to_numpy()
    x = split.test.select(model.features).to_numpy().astype(np.float64)
    sample = np.random.default_rng(0).permutation(len(x))[:2000]
    contrib = np.asarray(model.booster.predict(x[sample], pred_contrib=True, num_threads=1))
    gain = np.asarray(model.booster.feature_importance(importance_type="gain"), dtype=np.float64)
    return {
        "precision_recall": plots.pr_curve({n: (y, s) for n, s in scores.items()}),
        "calibration": plots.calibration_curve(y, scores["flowrisk"]),
        "feature_importance": plots.feature_importance(model.features, gain),
        "shap_summary": plots.shap_summary(model.features, contrib[:, :-1], x[sample]),
        "recall_per_typology": plots.recall_per_typology(
            {n: m["recall_per_typology"] for n, m in metrics.items()}
        ),
    }


def train_and_register(
    dataset: Path,
    *,
    tracking_uri: str,
    artifact_root: Path | None,
    experiment: str = "flowrisk",
    seed: int = 42,
    alert_budget: float = 0.01,
    params: Mapping[str, Any] | None = None,
    step: Step | None = None,
) -> TrainingResult:
    """Train on ``dataset`` (which must carry labels), evaluate on the held-out split against
    the rule engine and raw-sums LightGBM, log everything to MLflow and register the model.
    ``params`` override LightGBM's defaults."""
    say = step or (lambda _: None)
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from flowrisk.models.registry import HELDOUT_ARTIFACT, MODEL_NAME, log_model, setup_tracking

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
    split = split_snapshots(data, seed=SPLIT_SEED)
    say("training LightGBM")
    model, facts = fit_model(split, params=params, seed=seed, alert_budget=alert_budget)
    say("evaluating against the baselines")
    raw = {
        n: _with_raw_sums(frames, p)
        for n, p in (("train", split.train), ("valid", split.valid), ("test", split.test))
    }
    scores = {
        "flowrisk": model.predict(split.test),
        "rules": rule_scores(split.test),
        "raw_sums_lightgbm": raw_sums_scores(raw["train"], raw["valid"], raw["test"], seed=seed),
    }
    metrics = {
        name: evaluate_scores(s, split.test, calibrated=name == "flowrisk")
        for name, s in scores.items()
    }
    digest = dataset_digest(dataset)
    say("drawing charts")
    charts = _charts(model, split, scores, metrics)
    say("logging to MLflow and registering")
    try:
        with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
            mlflow.log_params(
                {
                    "seed": seed,
                    "split_seed": SPLIT_SEED,
                    "alert_budget": alert_budget,
                    "feature_set": FEATURE_SET,
                    "feature_set_version": FEATURE_SET_VERSION,
                    "dataset": str(dataset.resolve()),
                    "dataset_digest": digest,
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
            heldout = Path(tmp) / Path(HELDOUT_ARTIFACT).name
            split.test.write_parquet(heldout)
            mlflow.log_artifact(str(heldout), str(Path(HELDOUT_ARTIFACT).parent))
            from flowrisk.models.plots import write_charts

            for path in write_charts(charts, Path(tmp) / "plots"):
                mlflow.log_artifact(str(path), "plots")
            version = log_model(model, baselines, split.test.to_pandas())
            card = model_card(
                version=version,
                run_id=run.info.run_id,
                metrics=metrics,
                split=split.describe(),
                dates=[d.date().isoformat() for d in dates],
                params=facts["params"],
                top_features=_top_features(model),
                dataset=str(dataset),
                dataset_digest=digest,
                feature_set=f"{FEATURE_SET} {FEATURE_SET_VERSION}",
            )
            mlflow.log_text(card, "model_card.md")
            MlflowClient().update_model_version(MODEL_NAME, version, description=card)
    except (MlflowException, OSError) as exc:
        raise ConfigError(f"MLflow at {tracking_uri}: {str(exc).splitlines()[0]}") from exc
    return TrainingResult(
        version=version,
        run_id=run.info.run_id,
        metrics=metrics,
        split=split.describe(),
        dates=[d.date().isoformat() for d in dates],
        card=card,
    )
