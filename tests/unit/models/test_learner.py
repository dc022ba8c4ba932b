"""The one learner: its class weight, the configuration it owns, a deterministic early-stopped
fit, LightGBM's errors as parameter errors, and every model of flowrisk (its own, the raw-sums
baseline, the benchmark's) fitted through it with the same settings."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.models.learner import (
    DEFAULT_PARAMS,
    EVAL_METRIC,
    MAX_CLASS_WEIGHT,
    NUM_BOOST_ROUND,
    class_weight,
    fit_booster,
    learner_params,
    monotone_constraints,
    predict_best,
)


def _problem(seed: int = 0, rows: int = 2_000) -> tuple[np.ndarray, np.ndarray]:
    """Five features, the first two carry a rare positive class."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    logit = 2.5 * x[:, 0] + 1.5 * x[:, 1] - 4.0
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return x, y


NAMES = [f"f{i}" for i in range(5)]


def test_class_weight_is_negatives_per_positive_capped() -> None:
    assert class_weight(np.array([1, 0, 0, 0])) == 3.0
    assert class_weight(np.array([1] + [0] * 999)) == MAX_CLASS_WEIGHT
    assert class_weight(np.zeros(10, dtype=np.int8)) == 10.0  # no positive: no division by 0


def test_the_learner_owns_seed_weight_and_metric() -> None:
    y = np.array([1, 0, 0, 0, 0])
    config = learner_params(y, seed=7, params={"num_leaves": 15})
    assert config["num_leaves"] == 15 and config["max_depth"] == DEFAULT_PARAMS["max_depth"]
    assert config["seed"] == 7 and config["scale_pos_weight"] == 4.0
    assert config["metric"] == EVAL_METRIC
    for owned in ("seed", "scale_pos_weight", "metric"):
        with pytest.raises(InvalidParameter, match="set by flowrisk"):
            learner_params(y, seed=7, params={owned: 1})
    with pytest.raises(InvalidParameter, match="not a LightGBM parameter"):
        learner_params(y, seed=7, params={"num_leave": 15})


def test_fit_is_deterministic_and_stops_early() -> None:
    x, y = _problem()
    xv, yv = _problem(seed=1)
    one = fit_booster(x, y, xv, yv, names=NAMES, seed=3)
    two = fit_booster(x, y, xv, yv, names=NAMES, seed=3)
    assert one.model_to_string() == two.model_to_string()
    assert 0 < one.best_iteration < NUM_BOOST_ROUND
    assert one.feature_name() == NAMES
    p = predict_best(one, xv)
    assert p.dtype == np.float64 and ((p > 0) & (p < 1)).all()
    ranked_first = yv[np.argsort(-p)[: int(yv.sum())]].mean()
    assert ranked_first > 3 * yv.mean()  # it learnt the signal


def test_monotone_constraints_follow_the_catalog_and_can_be_overridden() -> None:
    names = ["cash_deposit_sum_90d", "flow_median_hold_hours_90d", "amount_in_median_90d", "g0"]
    assert monotone_constraints(names) == [1, -1, 0, 0]  # directions; 0 off the catalog
    assert monotone_constraints(names, {"cash_deposit_sum_90d": 0, "g0": -1}) == [0, -1, 0, -1]
    with pytest.raises(InvalidParameter, match="not a column"):
        monotone_constraints(names, {"nope": 1})
    with pytest.raises(InvalidParameter, match="-1, 0 or"):
        monotone_constraints(names, {"g0": 2})


def test_a_constrained_column_can_only_raise_the_score() -> None:
    x, y = _problem()
    xv, yv = _problem(seed=1)
    x[:, 2] = x[:, 0] + 0.5 * np.random.default_rng(5).normal(size=len(x))  # a noisy copy
    booster = fit_booster(x, y, xv, yv, names=NAMES, seed=3, monotone={"f2": -1})
    low, high = xv[:50].copy(), xv[:50].copy()
    low[:, 2], high[:, 2] = -3.0, 3.0
    assert (predict_best(booster, high) <= predict_best(booster, low) + 1e-12).all()
    with pytest.raises(InvalidParameter, match="set by flowrisk"):
        learner_params(y, seed=7, params={"monotone_constraints": "1,0,0,0,0"})


def test_lightgbm_errors_are_parameter_errors() -> None:
    x, y = _problem()
    with pytest.raises(InvalidParameter, match="params"):
        fit_booster(x, y, x, y, names=NAMES, seed=1, params={"num_leaves": 1})


@pytest.fixture()
def fits(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The configuration of every ``lightgbm.train`` call made during the test."""
    import lightgbm as lgb

    seen: list[dict[str, Any]] = []
    real = lgb.train

    def spy(params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        seen.append(dict(params))
        return real(params, *args, **kwargs)

    monkeypatch.setattr(lgb, "train", spy)
    return seen


def _frame(x: np.ndarray, y: np.ndarray, prefix: str) -> pl.DataFrame:
    return pl.DataFrame({f"{prefix}{i}": x[:, i] for i in range(x.shape[1])}).with_columns(
        pl.Series("label", y)
    )


def test_the_raw_sums_baseline_uses_flowrisks_learner(fits: list[dict[str, Any]]) -> None:
    from flowrisk.models.raw_baseline import raw_sums_scores

    x, y = _problem()
    xv, yv = _problem(seed=1)
    train, valid = _frame(x, y, "raw_"), _frame(xv, yv, "raw_")
    scores = raw_sums_scores(train, valid, valid, seed=5)
    expected = predict_best(fit_booster(x, y, xv, yv, names=train.columns[:-1], seed=5), xv)
    np.testing.assert_array_equal(scores, expected)
    assert fits[0] == learner_params(y, seed=5)  # max_depth, bagging, L2: flowrisk's own
    assert {k: fits[0][k] for k in DEFAULT_PARAMS} == DEFAULT_PARAMS


def test_the_benchmark_uses_flowrisks_learner(fits: list[dict[str, Any]]) -> None:
    from flowrisk.models import Split
    from flowrisk.models.ablation import fit_on_split

    x, y = _problem()
    xv, yv = _problem(seed=1)
    split = Split(_frame(x, y, "g"), _frame(xv, yv, "g"), _frame(xv, yv, "g"))
    booster = fit_on_split(split, [f"g{i}" for i in range(5)], seed=5)
    expected = fit_booster(x, y, xv, yv, names=[f"g{i}" for i in range(5)], seed=5)
    assert booster.model_to_string() == expected.model_to_string()
    assert fits[0] == learner_params(y, seed=5)
