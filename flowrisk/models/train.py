"""Fitting a risk model: flowrisk's learner (:mod:`flowrisk.models.learner`), centred isotonic
calibration on the validation split, band thresholds on the displayed score from the alert
budget."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import feature_names
from flowrisk.models.calibration import fit_calibration
from flowrisk.models.dataset import Split
from flowrisk.models.drift import reference_of
from flowrisk.models.learner import (
    DEFAULT_PARAMS,
    Report,
    check_params,
    fit_booster,
    learner_params,
    predict_best,
)
from flowrisk.models.scorer import SCORE_DECIMALS, RiskModel

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = [
    "DEFAULT_PARAMS",
    "MIN_POSITIVES",
    "band_thresholds",
    "check_params",
    "check_positives",
    "design",
    "fit_model",
    "peer_statistics",
]

MIN_POSITIVES = 20  # fewer positives in training than this cannot give a usable model


def check_alert_budget(alert_budget: float) -> None:
    """Refuse a budget outside (0, 0.2): the bands need room for five times the budget."""
    if not 0 < alert_budget < 0.2:
        raise InvalidParameter("alert_budget", f"must be in (0, 0.2), got {alert_budget}")


def band_thresholds(valid_scores: np.ndarray, alert_budget: float) -> dict[str, float]:
    """Thresholds on the displayed score (the lowest score of each band, at the score's own
    precision) so that on validation data the top ``alert_budget`` share is high or critical
    (critical: its top quarter) and medium reaches five times the budget."""
    check_alert_budget(alert_budget)
    q = np.quantile(valid_scores, [1 - 5 * alert_budget, 1 - alert_budget, 1 - alert_budget / 4])
    q = np.round(q, SCORE_DECIMALS)
    medium, high, critical = (float(v) for v in np.maximum.accumulate(q))
    return {"medium": medium, "high": high, "critical": critical}


def peer_statistics(
    profiles: pl.DataFrame, features: list[str]
) -> dict[str, dict[str, tuple[float, float]]]:
    """Median and 90th percentile of each feature among honest entities of each type (missing
    values left out): what a reason compares an entity with ("peers: median ...")."""
    honest = profiles.filter(pl.col("label") == 0)
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for kind in sorted(honest["entity_type"].unique().to_list()):
        rows = honest.filter(pl.col("entity_type") == kind)
        stats = rows.select(
            *(pl.col(f).median().alias(f"{f}|m") for f in features),
            *(pl.col(f).quantile(0.9, "linear").alias(f"{f}|p") for f in features),
        ).row(0, named=True)
        out[kind] = {
            f: (stats[f"{f}|m"], stats[f"{f}|p"]) for f in features if stats[f"{f}|m"] is not None
        }
    return out


def _calibrated(
    booster: lgb.Booster, raw_valid: np.ndarray, y_valid: np.ndarray, alert_budget: float
) -> RiskModel:
    """The scorer of ``booster``: centred isotonic calibration of its validation scores, and
    band thresholds on the scores the validation entities then display."""
    fitted = fit_calibration(raw_valid, y_valid)
    model = RiskModel(
        booster=booster,
        calibration_x=fitted.x,
        calibration_y=fitted.y,
        thresholds={},
        calibration_bounds=fitted.bounds,
        calibration_tails=fitted.tails,
        alert_budget=alert_budget,
    )
    displayed = model.score_of(model.calibrate(raw_valid))
    model.thresholds = band_thresholds(displayed, alert_budget)
    return model


def check_positives(split: Split) -> None:
    """Refuse a split with fewer than :data:`MIN_POSITIVES` positive entities to train on."""
    entities = split.train.filter(pl.col("label") == 1)["entity_id"].n_unique()
    if entities < MIN_POSITIVES:
        raise InvalidParameter(
            "labels",
            f"only {entities} positive entities to train on; at least {MIN_POSITIVES} are needed",
        )


def design(frame: pl.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The learner's inputs of one split: feature matrix (columns ``names``) and 0/1 labels."""
    return frame.select(names).to_numpy().astype(np.float64), frame["label"].to_numpy()


def fit_model(
    split: Split,
    params: Mapping[str, Any] | None = None,
    seed: int = 42,
    alert_budget: float = 0.01,
    report: Report | None = None,
    client: Any = None,
) -> tuple[RiskModel, dict[str, Any]]:
    """Train on ``split.train`` with flowrisk's learner, stop early and calibrate on
    ``split.valid``; ``report`` hears each round's validation average precision (the run's
    training curve). With ``client`` (a Dask client) the trees are built on its cluster
    (:func:`~flowrisk.models.learner_dask.fit_booster_dask`). Returns the model and training
    facts (best iteration, positives, class weight, the LightGBM configuration, where it ran)."""
    params = check_params(params or {})
    check_positives(split)
    names = feature_names()
    x_train, y_train = design(split.train, names)
    x_valid, y_valid = design(split.valid, names)
    fit = fit_booster
    if client is not None:
        from flowrisk.models.learner_dask import fit_booster_dask

        fit = partial(fit_booster_dask, client)
    booster = fit(
        x_train, y_train, x_valid, y_valid, names=names, seed=seed, params=params, report=report
    )
    raw_valid = predict_best(booster, x_valid)
    model = _calibrated(booster, raw_valid, y_valid, alert_budget)
    last = split.train["as_of"].max()
    model.peers = peer_statistics(split.train.filter(pl.col("as_of") == last), names)
    model.reference = reference_of(split, names)
    config = learner_params(y_train, seed=seed, params=params)
    facts = {
        "best_iteration": int(booster.best_iteration),
        "train_positives": int(y_train.sum()),
        "scale_pos_weight": config["scale_pos_weight"],
        "params": config,
        "fitted_on": "dask" if client is not None else "local",
    }
    return model, facts
