"""Cash: deposits and withdrawals, their share of inflows, and amounts just under thresholds."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, near, ratio, total, window
from flowrisk.reference import thresholds

FEATURES = register(
    *(
        Feature(
            f"cash_deposit_sum_{w}d",
            "cash",
            f"Cash paid into the entity's accounts over {w} days",
            "EUR",
            f"{w}d",
            1,
            f"{{value:,.0f}} EUR of cash deposited in {w} days",
        )
        for w in (30, 90, 365)
    ),
    Feature(
        "cash_deposit_count_90d",
        "cash",
        "Number of cash deposits over 90 days",
        "count",
        "90d",
        1,
        "{value:.0f} cash deposits in 90 days",
    ),
    Feature(
        "cash_withdrawal_sum_90d",
        "cash",
        "Cash taken out over 90 days",
        "EUR",
        "90d",
        1,
        "{value:,.0f} EUR withdrawn in cash in 90 days",
    ),
    Feature(
        "cash_share_inflow_90d",
        "cash",
        "Share of incoming money (EUR) paid in cash, 90 days",
        "share",
        "90d",
        1,
        "Cash makes up {value:.0%} of inflows over 90 days",
    ),
    Feature(
        "cash_share_inflow_365d",
        "cash",
        "Share of incoming money (EUR) paid in cash, 365 days",
        "share",
        "365d",
        1,
        "Cash makes up {value:.0%} of inflows over a year",
    ),
    Feature(
        "cash_near_cosi_months_365d",
        "cash",
        "Calendar months whose cumulated cash deposits "
        "sit just under the 10,000 EUR monthly reporting threshold (COSI)",
        "count",
        "365d",
        1,
        "{value:.0f} months with cash deposits just under 10,000 EUR",
    ),
    Feature(
        "cash_near_limit_deposits_365d",
        "cash",
        "Cash deposits just under the 1,000 EUR per-operation limit of cash-funded remittances",
        "count",
        "365d",
        1,
        "{value:.0f} cash deposits just under 1,000 EUR in a year",
    ),
    Feature(
        "cash_remittances_near_limit_365d",
        "cash",
        "Remittances sent just under the 1,000 EUR per-operation reporting limit",
        "count",
        "365d",
        1,
        "{value:.0f} remittances just under 1,000 EUR in a year",
    ),
    Feature(
        "cash_round_deposit_share_365d",
        "cash",
        "Share of cash deposits that are multiples of 500 EUR",
        "share",
        "365d",
        1,
        "{value:.0%} of cash deposits are round sums",
    ),
    Feature(
        "cash_distinct_branches_90d",
        "cash",
        "Distinct branches or ATMs used for cash, 90 days",
        "count",
        "90d",
        1,
        "Cash handled at {value:.0f} different branches in 90 days",
    ),
    Feature(
        "cash_distinct_accounts_90d",
        "cash",
        "Distinct own accounts receiving cash, 90 days",
        "count",
        "90d",
        1,
        "Cash deposited into {value:.0f} different accounts in 90 days",
    ),
)

DEPOSIT = pl.col("inbound") & (pl.col("channel") == "cash") & pl.col("cp_account").is_null()
WITHDRAWAL = ~pl.col("inbound") & (pl.col("channel") == "cash") & pl.col("cp_account").is_null()
INFLOW = pl.col("inbound") & ~pl.col("is_self")


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (expressions are immutable: built once, not per request)."""
    t = thresholds()
    amount = pl.col("amount")
    return (
        *(total(DEPOSIT & window(w)).alias(f"cash_deposit_sum_{w}d") for w in (30, 90, 365)),
        (DEPOSIT & window(90)).sum().alias("cash_deposit_count_90d"),
        total(WITHDRAWAL & window(90)).alias("cash_withdrawal_sum_90d"),
        ratio(total(DEPOSIT & window(90)), total(INFLOW & window(90))).alias(
            "cash_share_inflow_90d"
        ),
        ratio(total(DEPOSIT), total(INFLOW)).alias("cash_share_inflow_365d"),
        (DEPOSIT & near(amount, t.remittance_cash_per_operation))
        .sum()
        .alias("cash_near_limit_deposits_365d"),
        (
            ~pl.col("inbound")
            & (pl.col("channel") == "remittance")
            & near(amount, t.remittance_cash_per_operation)
        )
        .sum()
        .alias("cash_remittances_near_limit_365d"),
        ratio(((amount % 500) == 0).filter(DEPOSIT).sum(), DEPOSIT.sum()).alias(
            "cash_round_deposit_share_365d"
        ),
        pl.col("branch_id")
        .filter((DEPOSIT | WITHDRAWAL) & window(90))
        .drop_nulls()
        .n_unique()
        .alias("cash_distinct_branches_90d"),
        pl.col("own_account")
        .filter(DEPOSIT & window(90))
        .n_unique()
        .alias("cash_distinct_accounts_90d"),
    )


def compute(ctx: Context) -> pl.LazyFrame:
    t = thresholds()
    per_entity = ctx.legs.group_by("entity_id").agg(*_per_entity())
    months = (
        ctx.legs.filter(DEPOSIT)
        .group_by("entity_id", pl.col("ts").dt.truncate("1mo").alias("month"))
        .agg(total().alias("total"))
        .group_by("entity_id")
        .agg(near(pl.col("total"), t.cosi_cash_monthly).sum().alias("cash_near_cosi_months_365d"))
    )
    return per_entity.join(months, on="entity_id", how="left")
