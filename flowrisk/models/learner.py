"""The one LightGBM learner of flowrisk: its defaults, the number of rounds, early stopping on
validation average precision and the class weight. flowrisk's model, the raw-sums baseline and
the graph-feature benchmark all fit through :func:`fit_booster`, so every comparison is between
features, never between learner settings, and a setting is changed in this module only."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flowrisk.errors import InvalidParameter

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = [
    "DEFAULT_PARAMS",
    "EARLY_STOPPING",
    "EVAL_METRIC",
    "MAX_CLASS_WEIGHT",
    "NUM_BOOST_ROUND",
    "OWN_PARAMS",
    "RANGES",
    "Report",
    "check_params",
    "class_weight",
    "fit_booster",
    "learner_params",
    "monotone_constraints",
    "predict_best",
]

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
EARLY_STOPPING = 50  # rounds without a better validation metric before stopping
EVAL_METRIC = "average_precision"  # what early stopping watches: PR-AUC, as analysts read it
MAX_CLASS_WEIGHT = 100.0  # caps the positive weight when positives are very rare
OWN_PARAMS = frozenset(
    {"seed", "scale_pos_weight", "metric", "monotone_constraints"}
)  # set by the learner itself (monotone constraints: per feature, through ``monotone``)
MONOTONE_METHOD = "intermediate"  # LightGBM's middle way between "basic" and "advanced"
Report = Callable[[int, float], None]  # (round, validation average precision); may raise to stop


def _integer(low: int, high: int | None = None) -> tuple[str, Callable[[Any], bool]]:
    text = (
        f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}"
    )
    return (
        text,
        lambda v: (
            isinstance(v, int)
            and not isinstance(v, bool)
            and low <= v
            and (high is None or v <= high)
        ),
    )


def _number(
    low: float, *, above: bool = False, high: float | None = None
) -> tuple[str, Callable[[Any], bool]]:
    text = f"a number {'above' if above else 'of at least'} {low:g}"
    text += f" and at most {high:g}" if high is not None else ""
    return (
        text,
        lambda v: (
            isinstance(v, int | float)
            and not isinstance(v, bool)
            and (v > low if above else v >= low)
            and (high is None or v <= high)
        ),
    )


# the allowed values of the knobs a user or `flowrisk tune` sets, by LightGBM's main name: a
# value out of range is refused before any slow work, naming the parameter
RANGES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "num_leaves": _integer(2, 131_072),
    "max_depth": (
        "-1 (no limit) or an integer from 1 to 64",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and (v == -1 or 1 <= v <= 64),
    ),
    "learning_rate": _number(0.0, above=True, high=1.0),
    "min_data_in_leaf": _integer(1),
    "min_sum_hessian_in_leaf": _number(0.0),
    "min_gain_to_split": _number(0.0),
    "feature_fraction": _number(0.0, above=True, high=1.0),
    "bagging_fraction": _number(0.0, above=True, high=1.0),
    "bagging_freq": _integer(0),
    "lambda_l1": _number(0.0),
    "lambda_l2": _number(0.0),
}


def _main_names() -> dict[str, str]:
    """LightGBM's parameter names and aliases -> the main name (empty for a LightGBM without
    the alias table)."""
    import lightgbm.basic

    try:
        aliases = lightgbm.basic._ConfigAliases._get_all_param_aliases()
    except AttributeError:
        return {}
    return {alias: main for main, names in aliases.items() for alias in (main, *names)}


def check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """LightGBM overrides a user supplied, under LightGBM's main names (an alias such as
    ``min_child_samples`` would lose silently to the default it duplicates), refused by name when
    LightGBM does not know them (it would silently ignore a misspelt one), when two of them are
    the same parameter, when flowrisk sets them, when a knob of :data:`RANGES` is out of range,
    or when they would stop the model from being a binary classifier."""
    main = _main_names()
    out: dict[str, Any] = {}
    given: dict[str, str] = {}
    for name, value in params.items():
        if main and name not in main:
            raise InvalidParameter("params", f"{name!r} is not a LightGBM parameter")
        canonical = main.get(name, name)
        if canonical in OWN_PARAMS:
            raise InvalidParameter("params", f"{name!r} is set by flowrisk; use its own option")
        if canonical in given:
            raise InvalidParameter(
                "params", f"{given[canonical]!r} and {name!r} are the same LightGBM parameter"
            )
        if not isinstance(value, str | int | float | bool):
            raise InvalidParameter("params", f"{name!r} must be a number, string or boolean")
        if canonical in RANGES and not RANGES[canonical][1](value):
            raise InvalidParameter(
                "params", f"{name!r} must be {RANGES[canonical][0]}, got {value!r}"
            )
        given[canonical] = name
        out[canonical] = value
    if out.get("objective", "binary") != "binary":
        raise InvalidParameter("params", "objective must stay 'binary'")
    return out


def class_weight(y_train: np.ndarray) -> float:
    """Weight of a positive row: negatives per positive in ``y_train`` (0/1), at most
    :data:`MAX_CLASS_WEIGHT`, so that rare positives are not drowned out."""
    positives = int(np.asarray(y_train).sum())
    return min(float((len(y_train) - positives) / max(positives, 1)), MAX_CLASS_WEIGHT)


def learner_params(
    y_train: np.ndarray, *, seed: int, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The LightGBM configuration a fit uses: the defaults, the checked overrides, then what the
    learner owns (seed, class weight, metric). Logged with every model."""
    return {
        **DEFAULT_PARAMS,
        **check_params(params or {}),
        "seed": seed,
        "scale_pos_weight": class_weight(y_train),
        "metric": EVAL_METRIC,
    }


def monotone_constraints(
    names: Sequence[str], overrides: Mapping[str, int] | None = None
) -> list[int]:
    """One LightGBM monotone constraint per column: the catalog's ``direction`` of the feature of
    that name (+1: a higher value can only raise the score, -1: only lower it), 0 for columns
    that are not catalog features (raw sums, graph features); ``overrides`` maps a column name to
    its own constraint (-1, 0 or +1), refused when the name is not a column."""
    from flowrisk.features import catalog

    direction = {f.name: f.direction for f in catalog()}
    extra = dict(overrides or {})
    for name, value in extra.items():
        if name not in names:
            raise InvalidParameter("monotone", f"{name!r} is not a column of the model")
        if value not in (-1, 0, 1):
            raise InvalidParameter("monotone", f"{name!r}: a constraint is -1, 0 or +1")
    return [int(extra.get(n, direction.get(n, 0))) for n in names]


def fit_booster(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    names: Sequence[str],
    seed: int,
    params: Mapping[str, Any] | None = None,
    monotone: Mapping[str, int] | None = None,
    report: Report | None = None,
) -> lgb.Booster:
    """LightGBM fitted on the train rows, stopped early on the validation rows' average
    precision; ``params`` override the defaults (checked by name). Columns are ``names``; each
    catalog feature is constrained by its direction (:func:`monotone_constraints`), ``monotone``
    overrides a column's constraint. ``report`` hears each round's validation average precision
    (a hyperparameter search prunes a hopeless trial by raising from it)."""
    import lightgbm as lgb

    config = learner_params(y_train, seed=seed, params=params)
    constraints = monotone_constraints(names, monotone)
    if any(constraints):
        config["monotone_constraints"] = constraints
        config.setdefault("monotone_constraints_method", MONOTONE_METHOD)
    train_set = lgb.Dataset(
        np.asarray(x_train, dtype=np.float64), y_train, feature_name=list(names), free_raw_data=True
    )
    valid_set = lgb.Dataset(np.asarray(x_valid, dtype=np.float64), y_valid, reference=train_set)
    try:
        return lgb.train(
            config,
            train_set,
            num_boost_round=NUM_BOOST_ROUND,
            valid_sets=[valid_set],
            callbacks=[
                lgb.early_stopping(EARLY_STOPPING, verbose=False),
                *([_reporting(report)] if report is not None else []),
            ],
        )
    except lgb.basic.LightGBMError as exc:
        raise InvalidParameter("params", str(exc)) from exc


def _reporting(report: Report) -> Callable[[Any], None]:
    """A LightGBM callback passing each round's validation metric to ``report``."""

    def callback(env: Any) -> None:
        for _, metric, value, _ in env.evaluation_result_list:
            if metric == EVAL_METRIC:
                report(env.iteration + 1, float(value))

    return callback


def predict_best(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """The booster's uncalibrated probabilities at its best (early-stopped) iteration."""
    return np.asarray(
        booster.predict(np.asarray(x, dtype=np.float64), num_iteration=booster.best_iteration),
        dtype=np.float64,
    )
