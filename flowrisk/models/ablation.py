"""What each feature family adds: flowrisk's learner on the same split with every family, with
each family left out and with each family alone; held-out PR-AUC and ROC-AUC of the raw scores.
A family whose removal costs nothing carries no signal on that dataset; one that scores well
alone carries it by itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flowrisk.features import catalog
from flowrisk.models.dataset import Split
from flowrisk.models.learner import fit_booster, predict_best

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = ["family_ablation", "family_runs", "fit_on_split", "split_scores"]

Tick = Callable[[int, int | None], None]  # (done, total)
EVERY = "every family"


def fit_on_split(split: Split, columns: Sequence[str], seed: int) -> lgb.Booster:
    """flowrisk's learner on ``columns`` of the split's train rows, stopped on its valid rows."""
    return fit_booster(
        split.train.select(columns).to_numpy(),
        split.train["label"].to_numpy(),
        split.valid.select(columns).to_numpy(),
        split.valid["label"].to_numpy(),
        names=list(columns),
        seed=seed,
    )


def split_scores(split: Split, columns: Sequence[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uncalibrated scores of the validation and test rows by the learner fitted on
    ``columns``."""
    booster = fit_on_split(split, columns, seed)
    return (
        predict_best(booster, split.valid.select(columns).to_numpy()),
        predict_best(booster, split.test.select(columns).to_numpy()),
    )


def family_runs() -> dict[str, list[str]]:
    """The feature sets of the ablation: every family, each family left out, each alone."""
    features = catalog()
    families = sorted({f.family for f in features})
    runs = {EVERY: [f.name for f in features]}
    for fam in families:
        runs[f"without {fam}"] = [f.name for f in features if f.family != fam]
    for fam in families:
        runs[f"{fam} alone"] = [f.name for f in features if f.family == fam]
    return {name: cols for name, cols in runs.items() if cols}


def family_ablation(split: Split, *, seed: int = 42, tick: Tick | None = None) -> dict[str, Any]:
    """Held-out PR-AUC and ROC-AUC of each run of :func:`family_runs` on ``split`` (None when
    the run scores every test row alike), with the number of features it used."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    runs = family_runs()
    y_test = split.test["label"].to_numpy()
    out: dict[str, Any] = {}
    for done, (name, cols) in enumerate(runs.items(), 1):
        _, scores = split_scores(split, cols, seed)
        flat = bool(np.ptp(scores) == 0)
        out[name] = {
            "features": len(cols),
            "pr_auc": None if flat else float(average_precision_score(y_test, scores)),
            "roc_auc": None if flat else float(roc_auc_score(y_test, scores)),
        }
        if tick is not None:
            tick(done, len(runs))
    return out
