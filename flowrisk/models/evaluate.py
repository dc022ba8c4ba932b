"""Held-out metrics a data scientist and an analyst both read: ranking quality, what an alert
budget catches (and the most any ranking could catch there), recall per typology, and whether
probabilities mean what they say."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from flowrisk.schema import TYPOLOGIES

__all__ = [
    "BUDGETS",
    "CEILINGS",
    "HEADLINE",
    "budget_tag",
    "evaluate_scores",
    "recall_at_budget",
    "recall_ceiling",
]

BUDGETS = (0.005, 0.01, 0.02)
HEADLINE = {  # metric -> column title, in the order tables show them
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "recall_at_0.5pct": "recall @0.5%",
    "recall_at_1pct": "recall @1%",
    "recall_at_2pct": "recall @2%",
    "precision_at_1pct": "precision @1%",
}


def budget_tag(budget: float) -> str:
    """The suffix of a budget's metric names: ``0.01`` -> ``1pct``."""
    return f"{budget * 100:g}pct"


CEILINGS = {f"recall_at_{budget_tag(b)}": f"recall_ceiling_at_{budget_tag(b)}" for b in BUDGETS}


def recall_ceiling(positives: int, rows: int, budget: float) -> float:
    """The best recall any ranking can reach when ``budget`` of ``rows`` are alerted and
    ``positives`` of them are positive: ``min(1, alerts / positives)``, with the alerts
    counted as :func:`evaluate_scores` counts them (at least one row).

    >>> recall_ceiling(130, 4_900, 0.01)  # 49 alerts for 130 positives
    0.3769230769230769
    """
    alerts = max(1, round(budget * rows))
    return min(1.0, alerts / positives) if positives > 0 else 1.0


def recall_at_budget(y: np.ndarray, scores: np.ndarray, budget: float = 0.01) -> float:
    """Share of the positives among the ``budget`` share of rows scored highest (at least one
    row; ties broken by row order, as :func:`evaluate_scores` does): a bootstrap's metric."""
    k = max(1, round(budget * len(scores)))
    top = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float(np.asarray(y)[top].sum() / max(int(np.sum(y)), 1))


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
    Beside each recall at a budget, its ceiling (``recall_ceiling_at_<budget>``): the recall a
    perfect ranking would reach there, below 1 when positives outnumber the alerts.

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
        tag = budget_tag(budget)
        out[f"recall_at_{tag}"] = recall
        out[f"recall_ceiling_at_{tag}"] = recall_ceiling(int(y.sum()), len(y), budget)
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
