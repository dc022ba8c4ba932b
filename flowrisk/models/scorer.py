"""A trained risk model: the booster, its calibration and the band thresholds, scoring profiles.

Everything needed to score travels together (and is what the registry stores): the LightGBM
booster, the centred isotonic calibration fitted on the validation split
(:mod:`flowrisk.models.calibration`), the band thresholds derived from the alert budget, and the
feature set it was trained on.

What an entity is shown, and how each is derived from the one before:

- ``probability``: the calibrated probability, strictly increasing in the booster's output,
  strictly between the floor and ceiling the validation data supports (never 0 or 1);
- ``score``: 0-100, the probability on a log-odds scale from the model's floor (0) to its
  ceiling (100), rounded to :data:`SCORE_DECIMALS` decimals. Equal steps are equal factors of
  the odds, so the riskiest entities, whose probabilities all sit close to the ceiling, stay
  apart (on a linear scale the top thousand of a large population share a few values);
- ``band``: from the displayed score and the model's thresholds (the lowest score of each band),
  so a higher score never shows a lower band.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from flowrisk.features import FEATURE_SET, FEATURE_SET_VERSION, feature_names
from flowrisk.models.calibration import Calibration, apply_calibration, logit
from flowrisk.models.drift import DriftReference
from flowrisk.schema import BANDS

__all__ = ["BANDS", "SCORE_DECIMALS", "RiskModel", "probability_text", "score_text"]

# Five decimals: the riskiest entities sit within a few points of each other (on a generated
# world of a hundred thousand entities, the top thousand lie within 7 points, their
# probabilities within 0.0003 of each other); there three decimals left 8.4% of them sharing a
# score, four 1.5%, five none.
SCORE_DECIMALS = 5


def probability_text(p: float) -> str:
    """A probability as text with three decimals, or as many more as it takes not to read
    0.000 or 1.000 (flowrisk's probabilities never are 0 or 1); never scientific notation."""
    for decimals in range(3, 16):
        text = f"{p:.{decimals}f}"
        if 0 < float(text) < 1:
            return text
    return f"{p:.15f}"


def score_text(score: float) -> str:
    """A displayed score as text, at the precision its band was decided on."""
    return f"{score:.{SCORE_DECIMALS}f}"


@dataclass
class RiskModel:
    """Scores profiles: raw model output, calibrated probability, 0-100 score and band."""

    booster: Any  # lightgbm.Booster
    calibration_x: np.ndarray  # knots of the calibration: raw log-odds, strictly increasing ...
    calibration_y: np.ndarray  # ... and the calibrated probabilities at them, strictly increasing
    thresholds: dict[str, float]  # band -> lowest displayed score (0-100) of the band
    calibration_bounds: tuple[float, float]  # floor and ceiling the probability approaches
    calibration_tails: tuple[float, float]  # scales of the approach, in raw log-odds
    alert_budget: float  # share of entities the high and critical bands hold on validation
    features: list[str] = field(default_factory=feature_names)
    feature_set: str = FEATURE_SET
    feature_set_version: str = FEATURE_SET_VERSION
    # honest peers at training time: entity type -> feature -> (median, 90th percentile); the
    # baseline a reason compares an entity's value with
    peers: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    # the training rows' distribution per feature, for drift (None: trained before it existed)
    reference: DriftReference | None = None

    @property
    def calibration(self) -> Calibration:
        return Calibration(
            np.asarray(self.calibration_x, dtype=np.float64),
            np.asarray(self.calibration_y, dtype=np.float64),
            self.calibration_bounds,
            self.calibration_tails,
        )

    def matrix(self, profiles: pl.DataFrame) -> np.ndarray:
        """The model's features of ``profiles`` as a float64 matrix, in the model's order. By
        column names (``frame[names]``), not ``select``: on the one-row profile of a request,
        ``select`` runs the query engine and costs about eight times as much."""
        return profiles[self.features].to_numpy().astype(np.float64)

    def raw(self, profiles: pl.DataFrame) -> np.ndarray:
        """LightGBM's probability before calibration."""
        x = self.matrix(profiles)
        return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability of laundering for raw model outputs."""
        return apply_calibration(np.asarray(raw, dtype=np.float64), self.calibration)

    def predict(self, profiles: pl.DataFrame) -> np.ndarray:
        """Calibrated probabilities in (0, 1), one per profile row."""
        return self.calibrate(self.raw(profiles))

    def score_of(self, probability: np.ndarray) -> np.ndarray:
        """The displayed 0-100 score of calibrated probabilities (see the module docstring)."""
        low, high = (float(v) for v in logit(np.asarray(self.calibration_bounds)))
        scaled = 100 * (logit(probability) - low) / (high - low)
        return np.round(np.clip(scaled, 0.0, 100.0), SCORE_DECIMALS)

    def band_of(self, score: np.ndarray) -> np.ndarray:
        """Band names of displayed scores: the highest band whose threshold they reach."""
        score = np.asarray(score, dtype=np.float64)
        out = np.full(len(score), "low", dtype=object)
        for name in BANDS[1:]:
            out[score >= self.thresholds[name]] = name
        return out

    def band(self, raw: np.ndarray) -> np.ndarray:
        """Band names of raw model outputs, through the score they display."""
        return self.band_of(self.score_of(self.calibrate(raw)))

    def scored(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Probability, displayed score and band of raw model outputs: the one derivation every
        output (batch, API, explanations, reports) shows."""
        probability = self.calibrate(raw)
        score = self.score_of(probability)
        return probability, score, self.band_of(score)

    def score(self, profiles: pl.DataFrame) -> pl.DataFrame:
        """``entity_id``, ``probability``, ``score`` (0-100) and ``band`` per profile."""
        probability, score, band = self.scored(self.raw(profiles))
        return pl.DataFrame(
            {
                "entity_id": profiles["entity_id"],
                "probability": probability,
                "score": score,
                "band": pl.Series(band.astype(str)).cast(pl.Enum(BANDS)),
            }
        )
