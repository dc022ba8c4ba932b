"""Promotion on evidence: a challenger's held-out metrics minus the champion's, each with a
paired bootstrap interval over the same held-out entities, and the rule that reads them.

The rule refuses a challenger only when it is *significantly worse* on a decisive metric (the
whole interval of its difference below zero); a difference whose interval holds zero is inside
the noise of the held-out sample and is said to be, not taken as a ranking of the two models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypedDict

import numpy as np

from flowrisk.models.bootstrap import LEVEL, RESAMPLES, Metric, PairedInterval, paired_bootstrap
from flowrisk.models.evaluate import BUDGETS, HEADLINE, budget_tag, recall_at_budget

__all__ = [
    "COMPARED",
    "DECISIVE",
    "Comparison",
    "Decision",
    "Promotion",
    "Verdict",
    "decide",
    "differences",
    "paired_differences",
    "refusal",
    "verdict",
]

COMPARED = ("pr_auc", *(f"recall_at_{budget_tag(b)}" for b in BUDGETS))
DECISIVE = ("pr_auc", "recall_at_1pct")  # the ranking, and the alert budget analysts work to
Verdict = Literal["better", "worse", "inside the noise"]


def _metric_functions() -> dict[str, Metric]:
    from sklearn.metrics import average_precision_score

    functions: dict[str, Metric] = {"pr_auc": average_precision_score}
    for b in BUDGETS:
        functions[f"recall_at_{budget_tag(b)}"] = partial(recall_at_budget, budget=b)
    return functions


def paired_differences(
    y: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, PairedInterval]:
    """Per compared metric, the challenger's value minus the champion's on the held-out rows
    ``y``, with the paired bootstrap interval of that difference (both scored on the same
    resampled entities each time). Seeded: the same scores give the same intervals."""
    return {
        name: paired_bootstrap(
            y, challenger, champion, metric, resamples=resamples, level=level, seed=seed
        )
        for name, metric in _metric_functions().items()
    }


def differences(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, *, resamples: int = RESAMPLES
) -> dict[str, dict[str, Any]]:
    """:func:`paired_differences` of B against A, as plain values with their verdicts (what
    ``models compare --json`` prints)."""
    return {
        name: {**ci.to_dict(), "verdict": verdict(ci)}
        for name, ci in paired_differences(y, a, b, resamples=resamples).items()
    }


def verdict(ci: PairedInterval | Mapping[str, Any]) -> Verdict:
    """``better`` or ``worse`` when the whole interval lies on one side of zero, else ``inside
    the noise``."""
    low, high = (ci.low, ci.high) if isinstance(ci, PairedInterval) else (ci["low"], ci["high"])
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "inside the noise"


def _said(metric: str, ci: Mapping[str, Any], old: float, new: float) -> str:
    """``PR-AUC 0.9922 vs 0.9940: -0.0018 [95% CI -0.0060, +0.0021]``"""
    return (
        f"{HEADLINE.get(metric, metric)} {new:.4f} vs {old:.4f}: {ci['difference']:+.4f} "
        f"[{ci['level']:.0%} CI {ci['low']:+.4f}, {ci['high']:+.4f}]"
    )


@dataclass(frozen=True)
class Decision:
    """What the rule says about a challenger: refused or not, and why, in one line each for
    the decisive metrics that are worse, inside the noise and better."""

    refused: bool
    worse: list[str]
    noise: list[str]
    better: list[str]

    def summary(self) -> str:
        """The decisive metrics by verdict, e.g. ``inside the noise: PR-AUC 0.9922 vs ...``."""
        parts = [
            f"{name}: {'; '.join(lines)}"
            for name, lines in (
                ("significantly worse", self.worse),
                ("inside the noise", self.noise),
                ("significantly better", self.better),
            )
            if lines
        ]
        return "; ".join(parts)


def decide(
    differences: Mapping[str, Mapping[str, Any]],
    champion: Mapping[str, Any],
    challenger: Mapping[str, Any],
) -> Decision:
    """The promotion rule on ``differences`` (challenger minus champion, as
    :func:`paired_differences` gives them, in their ``to_dict`` form) and both models'
    held-out metrics: refused when any decisive metric is significantly worse."""
    said: dict[Verdict, list[str]] = {"worse": [], "inside the noise": [], "better": []}
    for metric in DECISIVE:
        ci = differences[metric]
        said[verdict(ci)].append(_said(metric, ci, champion[metric], challenger[metric]))
    return Decision(
        refused=bool(said["worse"]),
        worse=said["worse"],
        noise=said["inside the noise"],
        better=said["better"],
    )


class Comparison(TypedDict):
    """What ``Registry.compare`` returns: both versions' metrics on the same held-out
    profiles, and ``differences``: per compared metric, B's value minus A's with its paired
    bootstrap interval and verdict (``better``, ``worse`` or ``inside the noise``)."""

    versions: list[str]  # A's and B's numbers
    heldout_of: str
    rows: int
    positives: int
    metrics: dict[str, dict[str, Any]]
    differences: dict[str, dict[str, Any]]
    warning: str | None


@dataclass(frozen=True)
class Promotion:
    """What ``Registry.promote`` returns: the new champion, the one it replaced (None when
    there was none) and, when the two were compared, the rule's reading of their
    differences."""

    version: str
    previous: str | None
    decision: Decision | None = None


def refusal(decision: Decision, compared: Comparison) -> str:
    """Why a challenger (``compared``'s B) is refused against the champion (its A)."""
    champion, challenger = compared["versions"]
    return (
        f"{challenger} is significantly worse than the champion (version {champion}) on "
        f"{compared['positives']:,} positives of version {compared['heldout_of']}'s held-out "
        f"data: {decision.summary()}; use --force to promote anyway"
    )
