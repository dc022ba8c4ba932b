"""Cash: deposits and withdrawals, their share of inflows, and amounts just under thresholds;
the red flags of cash structuring and the classic cash monitoring rules, on the same deposits
(``legs.CASH_DEPOSIT``) and the same COSI threshold (``reference/thresholds.toml``)."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, near, ratio, total, window
from flowrisk.features.evidence import MAX_EVIDENCE, counted, flag_rows, txn_ids
from flowrisk.features.legs import CASH_DEPOSIT, CASH_WITHDRAWAL, INFLOW
from flowrisk.reference import thresholds

__all__ = [
    "COSI",
    "COSI_MONTHS",
    "FEATURES",
    "LIMIT",
    "SMALL_DEPOSITS",
    "compute",
    "red_flags",
    "rules",
]

# the reporting thresholds every feature, flag, rule and text of the family reads
COSI = thresholds().cosi_cash_monthly  # cash deposits cumulated over a calendar month
LIMIT = thresholds().remittance_cash_per_operation  # one cash-funded remittance
ROUND = thresholds().round_cash_multiple  # a round cash sum is a multiple of this

COSI_MONTHS, SMALL_DEPOSITS = register_flags(
    RedFlag(
        "cash_just_under_cosi",
        "cash",
        "Months whose several cash deposits add up to just under the monthly COSI threshold",
    ),
    RedFlag(
        "cash_just_under_1000",
        "cash",
        "Several cash deposits just under the per-operation limit of cash-funded remittances",
    ),
)

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
        "{value:.0f} cash deposit[s] in 90 days",
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
        f"sit just under the {COSI:,.0f} EUR monthly reporting threshold (COSI)",
        "count",
        "365d",
        1,
        f"{{value:.0f}} month[s] with cash deposits just under {COSI:,.0f} EUR",
        red_flag=COSI_MONTHS.name,
    ),
    Feature(
        "cash_near_limit_deposits_365d",
        "cash",
        f"Cash deposits just under the {LIMIT:,.0f} EUR per-operation limit of cash-funded "
        "remittances",
        "count",
        "365d",
        1,
        f"{{value:.0f}} cash deposit[s] just under {LIMIT:,.0f} EUR in a year",
        red_flag=SMALL_DEPOSITS.name,
    ),
    Feature(
        "cash_remittances_near_limit_365d",
        "cash",
        f"Remittances sent just under the {LIMIT:,.0f} EUR per-operation reporting limit",
        "count",
        "365d",
        1,
        f"{{value:.0f}} remittance[s] just under {LIMIT:,.0f} EUR in a year",
    ),
    Feature(
        "cash_round_deposit_share_365d",
        "cash",
        f"Share of cash deposits that are multiples of {ROUND:,.0f} EUR",
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
        "Cash handled at {value:.0f} [branch|different branches] in 90 days",
    ),
    Feature(
        "cash_distinct_accounts_90d",
        "cash",
        "Distinct own accounts receiving cash, 90 days",
        "count",
        "90d",
        1,
        "Cash deposited into {value:.0f} [account|different accounts] in 90 days",
    ),
)


MONTH = pl.col("ts").dt.truncate("1mo")


@cache
def _near_limit_deposit() -> pl.Expr:
    """A cash deposit just under the per-operation limit of cash-funded remittances."""
    return CASH_DEPOSIT & near(pl.col("amount"), LIMIT)


def _near_cosi(month_total: pl.Expr) -> pl.Expr:
    """A month whose cash deposits add up to just under the COSI threshold."""
    return near(month_total, COSI)


def _deposit_months(legs: pl.LazyFrame, *aggs: pl.Expr) -> pl.LazyFrame:
    """Cash deposits per entity and calendar month: their ``total`` (and ``aggs``)."""
    return (
        legs.filter(CASH_DEPOSIT)
        .group_by("entity_id", MONTH.alias("month"))
        .agg(total().alias("total"), *aggs)
    )


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (expressions are immutable: built once, not per request)."""
    amount = pl.col("amount")
    return (
        *(total(CASH_DEPOSIT & window(w)).alias(f"cash_deposit_sum_{w}d") for w in (30, 90, 365)),
        (CASH_DEPOSIT & window(90)).sum().alias("cash_deposit_count_90d"),
        total(CASH_WITHDRAWAL & window(90)).alias("cash_withdrawal_sum_90d"),
        ratio(total(CASH_DEPOSIT & window(90)), total(INFLOW & window(90))).alias(
            "cash_share_inflow_90d"
        ),
        ratio(total(CASH_DEPOSIT), total(INFLOW)).alias("cash_share_inflow_365d"),
        _near_limit_deposit().sum().alias("cash_near_limit_deposits_365d"),
        (~pl.col("inbound") & (pl.col("channel") == "remittance") & near(amount, LIMIT))
        .sum()
        .alias("cash_remittances_near_limit_365d"),
        ratio(((amount % ROUND) == 0).filter(CASH_DEPOSIT).sum(), CASH_DEPOSIT.sum()).alias(
            "cash_round_deposit_share_365d"
        ),
        pl.col("branch_id")
        .filter((CASH_DEPOSIT | CASH_WITHDRAWAL) & window(90))
        .drop_nulls()
        .n_unique()
        .alias("cash_distinct_branches_90d"),
        pl.col("own_account")
        .filter(CASH_DEPOSIT & window(90))
        .n_unique()
        .alias("cash_distinct_accounts_90d"),
    )


def compute(ctx: Context) -> pl.LazyFrame:
    per_entity = ctx.legs.group_by("entity_id").agg(*_per_entity())
    months = (
        _deposit_months(ctx.legs)
        .group_by("entity_id")
        .agg(_near_cosi(pl.col("total")).sum().alias("cash_near_cosi_months_365d"))
    )
    return per_entity.join(months, on="entity_id", how="left")


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Months of several deposits just under the COSI threshold; deposits just under the
    per-operation limit."""
    return [_cosi_months_flag(ctx), _small_deposits_flag(ctx)]


def _cosi_months_flag(ctx: Context) -> pl.LazyFrame:
    months = (
        _deposit_months(ctx.legs, pl.len().alias("n"), txn_ids().alias("ids"))
        .filter(
            _near_cosi(pl.col("total")) & (pl.col("n") >= thresholds().cosi_min_deposits_per_month)
        )
        .sort("month")
        .group_by("entity_id")
        .agg(
            pl.len().alias("months"),
            pl.col("month").dt.strftime("%Y-%m").str.join(", ").alias("which"),
            pl.col("n").sum().alias("n"),
            pl.col("ids").explode().head(MAX_EVIDENCE).alias("evidence"),
        )
    )
    text = pl.format(
        "{} in {} ({}) each totalling between {} and {} EUR, "
        f"just under the {COSI:,.0f} EUR monthly cash report",
        counted("n", "cash deposit", "cash deposits"),
        counted("months", "month", "months"),
        "which",
        pl.lit(f"{thresholds().near_low(COSI):,.0f}"),
        pl.lit(f"{COSI - 1:,.0f}"),
    )
    return flag_rows(months, COSI_MONTHS, text)


def _small_deposits_flag(ctx: Context) -> pl.LazyFrame:
    small = (
        ctx.legs.filter(_near_limit_deposit())
        .group_by("entity_id")
        .agg(pl.len().alias("n"), txn_ids().alias("evidence"))
        .filter(pl.col("n") >= thresholds().near_limit_min_deposits)
    )
    text = pl.format(
        "{} between {} and {} EUR in a year",
        counted("n", "cash deposit", "cash deposits"),
        pl.lit(f"{thresholds().near_low(LIMIT):,.0f}"),
        pl.lit(f"{LIMIT - 1:,.0f}"),
    )
    return flag_rows(small, SMALL_DEPOSITS, text)


def rules() -> dict[str, pl.Expr]:
    """Classic cash monitoring scenarios, on profile columns."""
    t = thresholds()
    return {
        "cash_over_10k_30d": pl.col("cash_deposit_sum_30d") > COSI,
        "structuring_months": pl.col("cash_near_cosi_months_365d") >= t.rule_near_cosi_months,
        "deposits_under_1k": pl.col("cash_near_limit_deposits_365d") >= t.near_limit_min_deposits,
    }
