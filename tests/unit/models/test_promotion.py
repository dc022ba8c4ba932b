"""The promotion rule: a challenger significantly worse on a decisive metric is refused, one
inside the noise is promoted and said to be, a better one is promoted; swapping the two models
mirrors every interval; the recall ceiling is what a perfect ranking reaches."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowrisk.models.evaluate import evaluate_scores, recall_ceiling
from flowrisk.models.promotion import COMPARED, DECISIVE, decide, paired_differences, verdict

ROWS, POSITIVES = 5_000, 130  # the size of a default world's held-out set


def _held_out(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels with 130 positives, and a champion that ranks them well but not perfectly."""
    rng = np.random.default_rng(seed)
    y = np.zeros(ROWS, dtype=np.int8)
    y[rng.choice(ROWS, POSITIVES, replace=False)] = 1
    return y, y * 2.0 + rng.normal(0, 1, ROWS)


def _decided(y: np.ndarray, champion: np.ndarray, challenger: np.ndarray) -> tuple[dict, object]:
    differences = {
        k: ci.to_dict()
        for k, ci in paired_differences(y, champion, challenger, resamples=200).items()
    }
    frame = pl.DataFrame({"label": y, "typologies": [[] for _ in range(len(y))]})
    ours, theirs = (evaluate_scores(s, frame, calibrated=False) for s in (champion, challenger))
    return differences, decide(differences, ours, theirs)


def test_a_significantly_worse_challenger_is_refused() -> None:
    y, champion = _held_out()
    challenger = champion + np.random.default_rng(1).normal(0, 3, ROWS)  # mostly noise
    differences, decision = _decided(y, champion, challenger)
    assert differences["pr_auc"]["high"] < 0 and verdict(differences["pr_auc"]) == "worse"
    assert decision.refused  # type: ignore[attr-defined]
    assert decision.summary().startswith("significantly worse: PR-AUC")  # type: ignore[attr-defined]


def test_a_difference_inside_the_noise_is_promoted_and_said_to_be() -> None:
    y, champion = _held_out()
    challenger = champion + np.random.default_rng(2).normal(0, 0.05, ROWS)  # another seed
    differences, decision = _decided(y, champion, challenger)
    pr_auc = differences["pr_auc"]
    assert pr_auc["difference"] != 0 and pr_auc["low"] < 0 < pr_auc["high"]
    assert not decision.refused  # type: ignore[attr-defined]
    summary = decision.summary()  # type: ignore[attr-defined]
    assert summary.startswith("inside the noise: PR-AUC") and "[95% CI -" in summary


def test_a_better_challenger_is_promoted() -> None:
    y, champion = _held_out()
    challenger = y * 4.0 + np.random.default_rng(3).normal(0, 1, ROWS)
    differences, decision = _decided(y, champion, challenger)
    assert all(verdict(differences[m]) == "better" for m in DECISIVE)
    assert not decision.refused and decision.worse == decision.noise == []  # type: ignore[attr-defined]
    assert set(differences) == set(COMPARED)


def test_worse_on_recall_alone_is_refused() -> None:
    """Recall at the alert budget is decisive on its own: the same PR-AUC is no excuse."""
    differences = {
        "pr_auc": {"difference": 0.0, "low": -0.01, "high": 0.01, "level": 0.95},
        "recall_at_1pct": {"difference": -0.2, "low": -0.3, "high": -0.1, "level": 0.95},
    }
    metrics = {"pr_auc": 0.9, "recall_at_1pct": 0.4}
    decision = decide(differences, metrics, {"pr_auc": 0.9, "recall_at_1pct": 0.2})
    assert decision.refused and decision.worse == [
        "recall @1% 0.2000 vs 0.4000: -0.2000 [95% CI -0.3000, -0.1000]"
    ]
    assert decision.noise == ["PR-AUC 0.9000 vs 0.9000: +0.0000 [95% CI -0.0100, +0.0100]"]


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), spread=st.floats(0.01, 3.0, allow_subnormal=False))
def test_swapping_champion_and_challenger_mirrors_every_interval(seed: int, spread: float) -> None:
    y, champion = _held_out(seed)
    challenger = champion + np.random.default_rng(seed + 1).normal(0, spread, ROWS)
    there = paired_differences(y, champion, challenger, resamples=40, seed=seed)
    back = paired_differences(y, challenger, champion, resamples=40, seed=seed)
    for metric in COMPARED:
        a, b = there[metric], back[metric]
        assert b.difference == pytest.approx(-a.difference, abs=1e-12)
        assert (b.low, b.high) == pytest.approx((-a.high, -a.low), abs=1e-12)
        flipped = {"better": "worse", "worse": "better", "inside the noise": "inside the noise"}
        assert verdict(b) == flipped[verdict(a)]


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 20_000),
    share=st.floats(0.0, 1.0, allow_subnormal=False),
    budget=st.sampled_from([0.005, 0.01, 0.02]),
)
def test_the_recall_ceiling_is_what_a_perfect_ranking_reaches(
    rows: int, share: float, budget: float
) -> None:
    positives = max(1, min(rows, round(share * rows)))
    y = np.zeros(rows, dtype=np.int8)
    y[:positives] = 1
    frame = pl.DataFrame({"label": y, "typologies": [[] for _ in range(rows)]})
    if positives == rows:  # one class: no ranking metric, but the ceiling still holds
        assert recall_ceiling(positives, rows, budget) == min(
            1.0, max(1, round(budget * rows)) / rows
        )
        return
    tag = f"{budget * 100:g}pct"
    perfect = evaluate_scores(y.astype(np.float64), frame, calibrated=False)
    assert perfect[f"recall_at_{tag}"] == pytest.approx(perfect[f"recall_ceiling_at_{tag}"])
    assert perfect[f"recall_ceiling_at_{tag}"] == recall_ceiling(positives, rows, budget)


def test_the_ceiling_of_the_issue() -> None:
    """130 positives among 4,900 held-out entities: 49 alerts at 1 %, recall at most 0.377."""
    assert f"{recall_ceiling(130, 4_900, 0.01):.3f}" == "0.377"
    assert recall_ceiling(10, 4_900, 0.01) == 1.0
