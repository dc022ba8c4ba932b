"""What a training run draws and ranks: its charts and its most important features."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from flowrisk.models.scorer import RiskModel

__all__ = ["run_charts", "top_features"]


def top_features(model: RiskModel, top: int = 10) -> list[tuple[str, float]]:
    """The ``top`` features by share of the model's total gain, largest first."""
    gain = np.asarray(model.booster.feature_importance(importance_type="gain"), dtype=np.float64)
    share = gain / max(gain.sum(), 1e-12)
    order = np.argsort(-share, kind="stable")[:top]
    return [(model.features[i], float(share[i])) for i in order]


def run_charts(
    model: RiskModel,
    test: pl.DataFrame,
    scores: dict[str, np.ndarray],
    metrics: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The run's charts: PR curves and recall per typology of every model, flowrisk's
    calibration, importance and SHAP summary (on at most 2,000 held-out rows)."""
    from flowrisk.models import plots

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
            {n: m["recall_per_typology"] for n, m in metrics.items()}
        ),
    }
