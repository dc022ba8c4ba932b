"""The paired bootstrap: a model against itself differs by exactly nothing, a clearly better
model's interval lies above zero, the same seed gives the same interval, bad inputs are named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from flowrisk.errors import InvalidParameter
from flowrisk.models.bootstrap import paired_bootstrap


def _labels(seed: int, rows: int, share: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < share).astype(np.int8)
    y[:2] = (0, 1)  # both classes
    return y


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    rows=st.integers(20, 300),
    share=st.floats(0.02, 0.5),
    metric=st.sampled_from([average_precision_score, roc_auc_score]),
)
def test_a_model_against_itself_has_the_interval_zero_zero(
    seed: int, rows: int, share: float, metric: object
) -> None:
    y = _labels(seed, rows, share)
    scores = np.random.default_rng(seed + 1).random(rows)
    ci = paired_bootstrap(y, scores, scores, metric, resamples=50, seed=seed)  # type: ignore[arg-type]
    assert (ci.difference, ci.low, ci.high) == (0.0, 0.0, 0.0)
    assert ci.resamples + ci.skipped == 50


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(200, 600))
def test_a_clearly_better_model_has_an_interval_above_zero(seed: int, rows: int) -> None:
    rng = np.random.default_rng(seed)
    y = _labels(seed, rows, 0.1)
    good = y + rng.normal(0, 0.3, rows)  # separates the classes
    noise = rng.random(rows)  # ranks at random
    for metric in (average_precision_score, roc_auc_score):
        ci = paired_bootstrap(y, good, noise, metric, resamples=100, seed=seed)
        assert ci.above_zero and ci.low <= ci.difference <= ci.high
        worse = paired_bootstrap(y, noise, good, metric, resamples=100, seed=seed)
        assert worse.high < 0


def test_the_same_seed_gives_the_same_interval_and_another_seed_another() -> None:
    rng = np.random.default_rng(3)
    y = _labels(3, 400, 0.1)
    a, b = y + rng.normal(0, 1, 400), rng.random(400)
    first = paired_bootstrap(y, a, b, roc_auc_score, resamples=200, seed=1)
    assert paired_bootstrap(y, a, b, roc_auc_score, resamples=200, seed=1) == first
    assert paired_bootstrap(y, a, b, roc_auc_score, resamples=200, seed=2) != first


def test_the_resamples_are_paired() -> None:
    """B = A shifted by a constant ranks identically: every paired resample gives 0 for a
    ranking metric, which an unpaired bootstrap would not."""
    rng = np.random.default_rng(0)
    y = _labels(0, 300, 0.2)
    a = rng.random(300)
    ci = paired_bootstrap(y, a, a + 5.0, roc_auc_score, resamples=100)
    assert (ci.low, ci.high) == (0.0, 0.0)


def test_single_class_resamples_are_skipped_and_counted() -> None:
    y = np.zeros(30, dtype=np.int8)
    y[0] = 1  # one positive: about a third of the resamples miss it
    s = np.arange(30, dtype=float)
    ci = paired_bootstrap(y, s, s[::-1], roc_auc_score, resamples=300, seed=0)
    assert ci.skipped > 0 and ci.resamples + ci.skipped == 300


@pytest.mark.parametrize(
    ("y", "a", "b", "kwargs", "name"),
    [
        ([0, 1, 0], [0.1, 0.2], [0.1, 0.2, 0.3], {}, "scores"),
        ([0, 0, 0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], {}, "labels"),
        ([0, 1, 0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], {"resamples": 0}, "resamples"),
        ([0, 1, 0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], {"level": 1.0}, "level"),
    ],
)
def test_bad_inputs_are_named(
    y: list[int], a: list[float], b: list[float], kwargs: dict[str, float], name: str
) -> None:
    with pytest.raises(InvalidParameter) as err:
        paired_bootstrap(np.array(y), np.array(a), np.array(b), roc_auc_score, **kwargs)  # type: ignore[arg-type]
    assert err.value.name == name
