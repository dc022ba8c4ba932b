"""flowrisk's learner on a Dask cluster (``lightgbm.dask``): the same configuration as
:func:`~flowrisk.models.learner.fit_booster`, the training rows spread over the workers, which
build the trees together (LightGBM's data-parallel learner).

``lightgbm.dask`` does not support early stopping (each worker would stop on its own part of
the validation rows), so every round is fitted and the stop is found afterwards on the
validation rows, with the rule of :func:`lightgbm.early_stopping`: the best round is the one
with the highest validation average precision, and the search stops
:data:`~flowrisk.models.learner.EARLY_STOPPING` rounds without a better one. The booster keeps
the trees up to that round, as an early-stopped local fit does.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flowrisk.errors import InvalidParameter
from flowrisk.models.learner import (
    EARLY_STOPPING,
    MONOTONE_METHOD,
    NUM_BOOST_ROUND,
    Report,
    learner_params,
    monotone_constraints,
)

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = ["fit_booster_dask", "stopping_round"]


def stopping_round(
    booster: lgb.Booster, x_valid: np.ndarray, y_valid: np.ndarray, report: Report | None = None
) -> int:
    """The round an early-stopped fit would keep: the best validation average precision,
    searched round by round until :data:`EARLY_STOPPING` rounds bring no better one
    (``report`` hears each round's value)."""
    from sklearn.metrics import average_precision_score

    raw = np.zeros(len(x_valid), dtype=np.float64)
    best, best_value = 1, -np.inf
    for i in range(booster.num_trees()):
        raw += booster.predict(x_valid, raw_score=True, start_iteration=i, num_iteration=1)
        value = float(average_precision_score(y_valid, raw))
        if report is not None:
            report(i + 1, value)
        if value > best_value:
            best, best_value = i + 1, value
        elif i + 1 - best >= EARLY_STOPPING:
            break
    return best


def _spread(client: Any, x: np.ndarray, y: np.ndarray, parts: int) -> tuple[Any, Any]:
    """``x`` and ``y`` as Dask arrays whose row blocks are scattered over the workers."""
    import dask
    import dask.array as da

    bounds = np.linspace(0, len(x), parts + 1, dtype=np.int64)
    blocks = [(x[a:b], y[a:b]) for a, b in itertools.pairwise(bounds) if b > a]
    sent_x = client.scatter([bx for bx, _ in blocks])
    sent_y = client.scatter([by for _, by in blocks])
    xs = [
        da.from_delayed(dask.delayed(f), shape=bx.shape, dtype=bx.dtype)
        for f, (bx, _) in zip(sent_x, blocks, strict=True)
    ]
    ys = [
        da.from_delayed(dask.delayed(f), shape=by.shape, dtype=by.dtype)
        for f, (_, by) in zip(sent_y, blocks, strict=True)
    ]
    return da.concatenate(xs), da.concatenate(ys)


def fit_booster_dask(
    client: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    names: Sequence[str],
    seed: int,
    params: Mapping[str, Any] | None = None,
    report: Report | None = None,
) -> lgb.Booster:
    """LightGBM fitted on the cluster of ``client`` with the learner's configuration (class
    weight, monotone constraints, seed), stopped on the validation rows afterwards."""
    import lightgbm as lgb
    from lightgbm.dask import DaskLGBMClassifier

    config = learner_params(y_train, seed=seed, params=params)
    constraints = monotone_constraints(names, None)
    if any(constraints):
        config["monotone_constraints"] = constraints
        config.setdefault("monotone_constraints_method", MONOTONE_METHOD)
    config.pop("num_threads", None)  # each worker uses its own threads
    workers = max(len(client.scheduler_info().get("workers", {})), 1)
    x, y = _spread(client, np.asarray(x_train, dtype=np.float64), y_train, 2 * workers)
    model = DaskLGBMClassifier(client=client, n_estimators=NUM_BOOST_ROUND, **config)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
            model.fit(x, y, feature_name=list(names))
    except lgb.basic.LightGBMError as exc:
        raise InvalidParameter("params", str(exc)) from exc
    fitted = model.booster_
    valid = np.asarray(x_valid, dtype=np.float64)
    best = stopping_round(fitted, valid, y_valid, report)
    booster = lgb.Booster(model_str=fitted.model_to_string(num_iteration=best))
    booster.best_iteration = best
    return booster
