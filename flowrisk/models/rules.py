"""The baseline an analyst would otherwise use: threshold rules in the style of transaction
monitoring engines, scored as the number of rules an entity trips (ties broken by cash)."""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["RULES", "rule_scores"]

# name -> condition on a profile; each is a classic monitoring scenario
RULES: dict[str, pl.Expr] = {
    "cash_over_10k_30d": pl.col("cash_deposit_sum_30d") > 10_000,
    "structuring_months": pl.col("cash_near_cosi_months_365d") >= 2,
    "deposits_under_1k": pl.col("cash_near_limit_deposits_365d") >= 3,
    "high_risk_country": pl.col("geo_high_risk_share_365d") > 0.25,
    "mixer_or_darknet": pl.col("crypto_risky_hops_365d") >= 1,
    "many_payers": pl.col("flow_distinct_payers_90d") >= 30,
    "pass_through": pl.col("flow_out_in_ratio_90d").is_between(0.9, 1.1)
    & (pl.col("flow_inflow_sum_90d") > 20_000),
    "reported_twice": pl.col("reports_declarants_total") >= 2,
    "assets_over_income": pl.col("wealth_assets_to_income_3y") > 3,
    "cash_heavy_company": pl.col("biz_cash_share_z_365d") > 3,
}


def rule_scores(profiles: pl.DataFrame) -> np.ndarray:
    """Rules tripped per profile, plus a sub-unit tie-break on cash deposited in 90 days."""
    hits = (
        profiles.select(
            pl.sum_horizontal(cond.fill_null(False).cast(pl.Int32) for cond in RULES.values())
        )
        .to_series()
        .to_numpy()
        .astype(np.float64)
    )
    cash = profiles["cash_deposit_sum_90d"].fill_null(0).to_numpy()
    return hits + cash / (cash.max() + 1.0) * 0.5
