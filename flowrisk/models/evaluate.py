"""Held-out metrics a data scientist and an analyst both read: ranking quality, what an alert
budget catches, recall per typology, and whether probabilities mean what they say."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from flowrisk.schema import TYPOLOGIES

__all__ = ["BUDGETS", "HEADLINE", "evaluate_scores"]

BUDGETS = (0.005, 0.01, 0.02)
HEADLINE = {  # metric -> column title, in the order tables show them
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "recall_at_0.5pct": "recall @0.5%",
    "recall_at_1pct": "recall @1%",
    "recall_at_2pct": "recall @2%",
    "precision_at_1pct": "precision @1%",
}


def _at_budget(
    scores: np.ndarray, labels: np.ndarray, budget: float
) -> tuple[np.ndarray, float, float]:
    k = max(1, round(budget * len(scores)))
    top = np.argsort(-scores, kind="stable")[:k]
    alerted = np.zeros(len(scores), dtype=bool)
    alerted[top] = True
    hits = int(labels[alerted].sum())
    return alerted, hits / max(int(labels.sum()), 1), hits / k


def evaluate_scores(
    scores: np.ndarray, data: pl.DataFrame, *, calibrated: bool = True, bins: int = 10
) -> dict[str, Any]:
    """Metrics of ``scores`` against ``data['label']``; per typology from ``data['typologies']``.

    ``calibrated`` adds the Brier score and the expected calibration error (scores must then be
    probabilities)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = data["label"].to_numpy().astype(int)
    out: dict[str, Any] = {
        "rows": len(y),
        "positives": int(y.sum()),
        "pr_auc": float(average_precision_score(y, scores)),
        "roc_auc": float(roc_auc_score(y, scores)),
    }
    alerted_1 = np.zeros(len(y), dtype=bool)
    for budget in BUDGETS:
        alerted, recall, precision = _at_budget(scores, y, budget)
        tag = f"{budget * 100:g}pct"
        out[f"recall_at_{tag}"] = recall
        out[f"precision_at_{tag}"] = precision
        if budget == 0.01:
            alerted_1 = alerted
    typologies = data["typologies"].to_list()
    per_typology = {}
    for t in TYPOLOGIES:
        mask = np.array([t in (ts or []) for ts in typologies]) & (y == 1)
        if mask.any():
            per_typology[t] = {
                "positives": int(mask.sum()),
                "recall_at_1pct": float(alerted_1[mask].mean()),
            }
    out["recall_per_typology"] = per_typology
    if calibrated:
        out["brier"] = float(brier_score_loss(y, scores))
        edges = np.linspace(0, 1, bins + 1)
        which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
        ece = sum(
            abs(scores[which == b].mean() - y[which == b].mean()) * (which == b).mean()
            for b in range(bins)
            if (which == b).any()
        )
        out["calibration_error"] = float(ece)
    return out
