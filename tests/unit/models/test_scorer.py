"""The scorer's order: the calibrated probability is strictly increasing in the raw output and
strictly inside (0, 1), the displayed score never decreases with it and the band never steps
down as the displayed score rises, whatever the validation data the calibration was fitted on;
probabilities print without reading 0.000 or 1.000."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowrisk.errors import InvalidParameter
from flowrisk.models.calibration import fit_calibration
from flowrisk.models.scorer import SCORE_DECIMALS, RiskModel, probability_text
from flowrisk.models.train import _calibrated
from flowrisk.schema import BANDS


def _model(raw: np.ndarray, labels: np.ndarray, budget: float = 0.01) -> RiskModel:
    """A scorer calibrated on (raw, labels) exactly as ``fit_model`` builds one (no booster)."""
    return _calibrated(None, raw, labels, budget)


def _world(seed: int, n: int, prevalence: float, separation: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < prevalence).astype(int)
    labels[:2] = [0, 1]  # both classes, always
    z = rng.normal(-4, 1.5, n) + labels * rng.normal(separation, 1.0, n)
    return 1 / (1 + np.exp(-z)), labels


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(50, 3_000),
    prevalence=st.floats(0.005, 0.3, allow_subnormal=False),
    separation=st.floats(0.0, 20.0, allow_subnormal=False),
    budget=st.sampled_from([0.005, 0.01, 0.05]),
    probe=st.lists(st.floats(-40, 40, allow_subnormal=False), min_size=2, max_size=200),
)
def test_probability_score_and_band_keep_the_raw_order(
    seed: int,
    n: int,
    prevalence: float,
    separation: float,
    budget: float,
    probe: list[float],
) -> None:
    raw, labels = _world(seed, n, prevalence, separation)
    model = _model(raw, labels, budget)
    z = np.unique(np.r_[np.log(raw / (1 - raw)), probe])  # validation points and far beyond
    z = z[np.r_[True, np.diff(z) > 1e-6]]  # raw outputs apart by more than float noise
    z = z[np.abs(z) < 30]  # the booster's output is a float64 probability
    points = 1 / (1 + np.exp(-z))
    probability, score, band = model.scored(points)
    assert ((probability > 0) & (probability < 1)).all()
    floor, ceiling = model.calibration_bounds
    assert ((probability > floor) & (probability < ceiling)).all()
    assert (np.diff(probability) > 0).all()
    assert (np.diff(score) >= 0).all()
    rank = np.array([BANDS.index(b) for b in band])
    assert (np.diff(rank) >= 0).all()
    assert np.array_equal(score, np.round(score, SCORE_DECIMALS))
    assert all(text not in ("0.000", "1.000") for text in map(probability_text, probability))


def test_a_block_of_positives_supports_less_than_one() -> None:
    """The plain isotonic fit put the top block of all-positive validation entities at 1.000;
    here its knot is the Jeffreys mean and the ceiling is approached, never reached."""
    raw = np.r_[np.linspace(0.01, 0.5, 960), np.linspace(0.9, 0.99, 40)]
    labels = np.r_[np.zeros(960, dtype=int), np.ones(40, dtype=int)]
    labels[::97] = 1
    fitted = fit_calibration(raw, labels)
    assert fitted.y[-1] == pytest.approx(40.5 / 41)
    assert fitted.y[-1] < fitted.bounds[1] < 1
    model = _model(raw, labels)
    top = model.calibrate(np.array([0.99, 0.999, 0.999999, 1.0]))
    assert (np.diff(top) > 0).all() and top[-1] < fitted.bounds[1]
    assert len(set(model.score_of(top).tolist())) == 4  # the top no longer ties


def test_ties_in_the_raw_output_share_a_block() -> None:
    raw = np.array([0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.9, 0.9])
    labels = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    fitted = fit_calibration(raw, labels)
    assert (np.diff(fitted.x) > 0).all() and (np.diff(fitted.y) > 0).all()
    assert fitted.bounds[0] < fitted.y[0] and fitted.y[-1] < fitted.bounds[1]


def test_a_calibration_needs_both_classes_and_finite_scores() -> None:
    with pytest.raises(InvalidParameter, match="both classes"):
        fit_calibration(np.array([0.1, 0.2]), np.array([0, 0]))
    with pytest.raises(InvalidParameter, match="finite"):
        fit_calibration(np.array([0.1, np.nan]), np.array([0, 1]))
    with pytest.raises(InvalidParameter, match="2 scores for 3 labels"):
        fit_calibration(np.array([0.1, 0.2]), np.array([0, 1, 1]))


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.5, "0.500"),
        (0.12345, "0.123"),
        (0.9996, "0.9996"),
        (0.99999871, "0.999999"),
        (0.0004, "0.0004"),
        (2.6e-7, "0.0000003"),
    ],
)
def test_probabilities_never_print_as_zero_or_one(p: float, text: str) -> None:
    assert probability_text(p) == text
