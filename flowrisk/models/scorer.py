"""A trained risk model: the booster, its calibration and the band thresholds, scoring profiles.

Everything needed to score travels together (and is what the registry stores): the LightGBM
booster, the isotonic calibration fitted on the validation split, the band thresholds derived
from the alert budget, and the feature set it was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from flowrisk.features import FEATURE_SET, FEATURE_SET_VERSION, feature_names
from flowrisk.models.drift import DriftReference
from flowrisk.schema import BANDS

__all__ = ["BANDS", "RiskModel"]


@dataclass
class RiskModel:
    """Scores profiles: raw model output, calibrated probability, 0-100 score and band."""

    booster: Any  # lightgbm.Booster
    calibration_x: np.ndarray  # isotonic calibration: raw score knots ...
    calibration_y: np.ndarray  # ... and the calibrated probabilities at them
    thresholds: dict[str, float]  # band -> lowest raw model score of the band
    features: list[str] = field(default_factory=feature_names)
    feature_set: str = FEATURE_SET
    feature_set_version: str = FEATURE_SET_VERSION
    # honest peers at training time: entity type -> feature -> (median, 90th percentile); the
    # baseline a reason compares an entity's value with
    peers: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    # the training rows' distribution per feature, for drift (None: trained before it existed)
    reference: DriftReference | None = None

    def raw(self, profiles: pl.DataFrame) -> np.ndarray:
        """LightGBM's probability before calibration."""
        x = profiles.select(self.features).to_numpy().astype(np.float64)
        return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability of laundering for raw model outputs."""
        return np.clip(np.interp(raw, self.calibration_x, self.calibration_y), 0.0, 1.0)

    def predict(self, profiles: pl.DataFrame) -> np.ndarray:
        """Calibrated probabilities in [0, 1], one per profile row."""
        return self.calibrate(self.raw(profiles))

    def band(self, raw: np.ndarray) -> np.ndarray:
        """Band names for raw model scores (bands rank on the raw score, which keeps every
        distinction the step-wise calibration merges)."""
        out = np.full(len(raw), "low", dtype=object)
        for name in BANDS[1:]:
            out[raw >= self.thresholds[name]] = name
        return out

    def score(self, profiles: pl.DataFrame) -> pl.DataFrame:
        """``entity_id``, ``probability``, ``score`` (0-100) and ``band`` per profile."""
        raw = self.raw(profiles)
        p = self.calibrate(raw)
        return pl.DataFrame(
            {
                "entity_id": profiles["entity_id"],
                "probability": p,
                "score": np.round(100 * p, 1),
                "band": pl.Series(self.band(raw).astype(str)).cast(pl.Enum(BANDS)),
            }
        )
