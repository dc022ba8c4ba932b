"""The baseline an analyst would otherwise use: threshold rules in the style of transaction
monitoring engines, scored as the number of rules an entity trips (ties broken by cash). Each
family owns its rules, on its profile columns and the thresholds of ``thresholds.toml``."""

from __future__ import annotations

import numpy as np
import polars as pl

from flowrisk.features.families import FAMILIES

__all__ = ["rule_scores", "rules"]


def rules() -> dict[str, pl.Expr]:
    """Rule name -> condition on a profile, every family's, in family order."""
    return {name: cond for family in FAMILIES for name, cond in family.rules().items()}


def rule_scores(profiles: pl.DataFrame) -> np.ndarray:
    """Rules tripped per profile, plus a sub-unit tie-break on cash deposited in 90 days."""
    hits = (
        profiles.select(
            pl.sum_horizontal(cond.fill_null(False).cast(pl.Int32) for cond in rules().values())
        )
        .to_series()
        .to_numpy()
        .astype(np.float64)
    )
    cash = profiles["cash_deposit_sum_90d"].fill_null(0).to_numpy()
    return hits + cash / (cash.max() + 1.0) * 0.5
