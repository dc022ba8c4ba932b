"""Fitting a risk model: LightGBM with early stopping and class weighting, isotonic calibration
on the validation split, band thresholds from the alert budget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import feature_names
from flowrisk.models.dataset import Split
from flowrisk.models.scorer import RiskModel

__all__ = [
    "DEFAULT_PARAMS",
    "MIN_POSITIVES",
    "band_thresholds",
    "check_params",
    "fit_model",
    "peer_statistics",
]

MIN_POSITIVES = 20  # fewer positives in training than this cannot give a usable model
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": 6,  # shallow trees keep exact TreeSHAP explanations cheap
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
NUM_BOOST_ROUND = 600
EARLY_STOPPING = 50


def band_thresholds(valid_scores: np.ndarray, alert_budget: float) -> dict[str, float]:
    """Score thresholds so that on validation data the top ``alert_budget`` share is high or
    critical (critical: its top quarter) and medium reaches five times the budget."""
    if not 0 < alert_budget < 0.2:
        raise InvalidParameter("alert_budget", f"must be in (0, 0.2), got {alert_budget}")
    q = np.quantile(valid_scores, [1 - 5 * alert_budget, 1 - alert_budget, 1 - alert_budget / 4])
    medium, high, critical = (float(v) for v in np.maximum.accumulate(q))
    return {"medium": medium, "high": high, "critical": critical}


OWN_PARAMS = {"seed", "scale_pos_weight", "metric"}  # set by fit_model itself


def check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """LightGBM overrides a user supplied, refused by name when LightGBM does not know them
    (it would silently ignore a misspelt one), when flowrisk sets them, or when they would
    stop the model from being a binary classifier."""
    import lightgbm.basic

    try:
        aliases = lightgbm.basic._ConfigAliases._get_all_param_aliases()
        known = set(aliases) | {a for names in aliases.values() for a in names}
    except AttributeError:  # a LightGBM without the alias table: let LightGBM judge
        known = set(params)
    for name, value in params.items():
        if name not in known:
            raise InvalidParameter("params", f"{name!r} is not a LightGBM parameter")
        if name in OWN_PARAMS:
            raise InvalidParameter("params", f"{name!r} is set by flowrisk; use its own option")
        if not isinstance(value, str | int | float | bool):
            raise InvalidParameter("params", f"{name!r} must be a number, string or boolean")
    if params.get("objective", "binary") != "binary":
        raise InvalidParameter("params", "objective must stay 'binary'")
    return dict(params)


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


def fit_model(
    split: Split,
    params: Mapping[str, Any] | None = None,
    seed: int = 42,
    alert_budget: float = 0.01,
) -> tuple[RiskModel, dict[str, Any]]:
    """Train on ``split.train``, stop early and calibrate on ``split.valid``.

    Returns the model and training facts (best iteration, positives, class weight).
    """
    import lightgbm as lgb
    from sklearn.isotonic import IsotonicRegression

    params = check_params(params or {})
    positives = int(split.train["label"].sum())
    entities = split.train.filter(pl.col("label") == 1)["entity_id"].n_unique()
    if entities < MIN_POSITIVES:
        raise InvalidParameter(
            "labels",
            f"only {entities} positive entities to train on; at least {MIN_POSITIVES} are needed",
        )
    names = feature_names()
    x_train = split.train.select(names).to_numpy().astype(np.float64)
    y_train = split.train["label"].to_numpy()
    x_valid = split.valid.select(names).to_numpy().astype(np.float64)
    y_valid = split.valid["label"].to_numpy()
    weight = float((len(y_train) - positives) / positives)
    config = {
        **DEFAULT_PARAMS,
        **params,
        "seed": seed,
        "scale_pos_weight": min(weight, 100.0),
        "metric": "average_precision",
    }
    train_set = lgb.Dataset(x_train, y_train, feature_name=names, free_raw_data=True)
    valid_set = lgb.Dataset(x_valid, y_valid, reference=train_set)
    try:
        booster = lgb.train(
            config,
            train_set,
            num_boost_round=NUM_BOOST_ROUND,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
        )
    except lgb.basic.LightGBMError as exc:
        raise InvalidParameter("params", str(exc)) from exc
    raw_valid = np.asarray(booster.predict(x_valid, num_iteration=booster.best_iteration))
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw_valid, y_valid)
    model = RiskModel(
        booster=booster,
        calibration_x=np.asarray(iso.X_thresholds_, dtype=np.float64),
        calibration_y=np.asarray(iso.y_thresholds_, dtype=np.float64),
        thresholds={},
    )
    model.thresholds = band_thresholds(raw_valid, alert_budget)
    last = split.train["as_of"].max()
    model.peers = peer_statistics(split.train.filter(pl.col("as_of") == last), names)
    facts = {
        "best_iteration": int(booster.best_iteration),
        "train_positives": positives,
        "scale_pos_weight": config["scale_pos_weight"],
        "params": config,
    }
    return model, facts
