"""Risk models: training snapshots, LightGBM training and calibration, evaluation, the
rule-engine baseline, and the scorer that carries everything needed to score."""

from flowrisk.features import rule_scores
from flowrisk.models.dataset import (
    Split,
    label_snapshot,
    scoring_date,
    snapshot_dates,
    snapshots,
    split_snapshots,
)
from flowrisk.models.evaluate import evaluate_scores
from flowrisk.models.learner import fit_booster
from flowrisk.models.registry import Registry
from flowrisk.models.scorer import BANDS, RiskModel
from flowrisk.models.train import band_thresholds, fit_model

__all__ = [
    "BANDS",
    "Registry",
    "RiskModel",
    "Split",
    "band_thresholds",
    "evaluate_scores",
    "fit_booster",
    "fit_model",
    "label_snapshot",
    "rule_scores",
    "scoring_date",
    "snapshot_dates",
    "snapshots",
    "split_snapshots",
]
