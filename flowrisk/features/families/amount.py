"""Amounts: how the amounts an entity sends and receives are distributed (count, min, median,
mean, high quantile, max, dispersion), how many are round sums or just under a reporting
threshold, and how much of the money goes through one counterparty. Every dataset carries
amounts, so these features hold on data flowrisk did not generate.

Exact and deterministic: means are sums of whole cents, dispersions are added up in sorted
order, so a result never depends on the order rows reach the aggregation."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, integer_cv, near, ratio, window
from flowrisk.features.legs import INFLOW, OUTFLOW, WITH_OTHERS
from flowrisk.reference import thresholds

__all__ = ["FEATURES", "REPORTING", "compute", "red_flags", "rules"]

ROUND = thresholds().round_amount_multiple
HIGH_QUANTILE = 0.9
# the reporting thresholds an amount can be kept just under: feature suffix -> (value, wording)
REPORTING: dict[str, tuple[float, str]] = {
    "cosi": (thresholds().cosi_cash_monthly, "the monthly COSI cash threshold"),
    "remit_op": (
        thresholds().remittance_cash_per_operation,
        "the per-operation threshold of cash-funded remittances",
    ),
    "remit_month": (
        thresholds().remittance_cash_monthly,
        "the monthly threshold of cash-funded remittances",
    ),
}
SIDES = {"in": ("received", INFLOW), "out": ("sent", OUTFLOW)}


def _side_features(side: str, verb: str) -> list[Feature]:
    w = "90d"
    return [
        Feature(
            f"amount_{side}_count_{w}",
            "amount",
            f"Payments {verb} (with others), 90 days",
            "count",
            w,
            0,
            f"{{value:,.0f}} payment[s] {verb} in 90 days",
        ),
        *(
            Feature(
                f"amount_{side}_{stat}_{w}",
                "amount",
                f"{label.capitalize()} amount {verb}, 90 days",
                "EUR",
                w,
                0,
                f"{label.capitalize()} payment {verb}: {{value:,.0f}} EUR (90 days)",
            )
            for stat, label in (
                ("min", "smallest"),
                ("median", "median"),
                ("mean", "average"),
                ("p90", "90th-percentile"),
                ("max", "largest"),
            )
        ),
        Feature(
            f"amount_{side}_cv_{w}",
            "amount",
            f"Spread of the amounts {verb} (standard deviation over mean), 90 days",
            "ratio",
            w,
            0,
            f"Amounts {verb} vary by {{value:.2f}} times their mean (90 days)",
        ),
        Feature(
            f"amount_{side}_median_365d",
            "amount",
            f"Median amount {verb}, 365 days",
            "EUR",
            "365d",
            0,
            f"Median payment {verb}: {{value:,.0f}} EUR (365 days)",
        ),
        Feature(
            f"amount_{side}_cv_365d",
            "amount",
            f"Spread of the amounts {verb} (standard deviation over mean), 365 days",
            "ratio",
            "365d",
            0,
            f"Amounts {verb} vary by {{value:.2f}} times their mean (365 days)",
        ),
    ]


FEATURES = register(
    *(f for side, (verb, _) in SIDES.items() for f in _side_features(side, verb)),
    Feature(
        "amount_round_share_90d",
        "amount",
        f"Share of payments with others that are whole multiples of {ROUND:,.0f} EUR, 90 days",
        "share",
        "90d",
        1,
        f"{{value:.0%}} of payments are round multiples of {ROUND:,.0f} EUR (90 days)",
    ),
    *(
        Feature(
            f"amount_near_{key}_share_90d",
            "amount",
            f"Share of payments with others just under {text} "
            f"({thresholds().near_low(value):,.0f}-{value:,.0f} EUR), 90 days",
            "share",
            "90d",
            1,
            f"{{value:.0%}} of payments lie just under {value:,.0f} EUR (90 days)",
        )
        for key, (value, text) in REPORTING.items()
    ),
    Feature(
        "amount_top_counterparty_share_90d",
        "amount",
        "Share of the money moved with others that went to or came from one counterparty, 90 days",
        "share",
        "90d",
        0,
        "{value:.0%} of the money moved in 90 days was with one counterparty",
    ),
)


def _stats(side: str, mask: pl.Expr, days: int, full: bool) -> list[pl.Expr]:
    """Distribution of the amounts of the legs in ``mask`` over the last ``days`` days."""
    amounts = pl.col("amount").filter(mask & window(days))
    cents = pl.col("cents").filter(mask & window(days))
    w = f"{days}d"
    cv = integer_cv(cents).alias(f"amount_{side}_cv_{w}")
    if not full:
        return [amounts.median().alias(f"amount_{side}_median_{w}"), cv]
    return [
        cents.len().alias(f"amount_{side}_count_{w}"),
        amounts.min().alias(f"amount_{side}_min_{w}"),
        amounts.median().alias(f"amount_{side}_median_{w}"),
        (cents.sum() / cents.len() / 100).alias(f"amount_{side}_mean_{w}"),
        amounts.quantile(HIGH_QUANTILE, "linear").alias(f"amount_{side}_p90_{w}"),
        amounts.max().alias(f"amount_{side}_max_{w}"),
        cv,
    ]


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (built once per process, not per request)."""
    mine = WITH_OTHERS & window(90)
    round_cents = round(ROUND * 100)
    shares = [
        (pl.col("cents") % round_cents == 0).filter(mine).mean().alias("amount_round_share_90d"),
        *(
            near(pl.col("amount"), value).filter(mine).mean().alias(f"amount_near_{key}_share_90d")
            for key, (value, _) in REPORTING.items()
        ),
    ]
    return (
        *(e for side, (_, m) in SIDES.items() for e in _stats(side, m, 90, full=True)),
        *(e for side, (_, m) in SIDES.items() for e in _stats(side, m, 365, full=False)),
        *shares,
    )


def compute(ctx: Context) -> pl.LazyFrame:
    per_entity = ctx.legs.group_by("entity_id").agg(*_per_entity())
    return per_entity.join(_top_counterparty(ctx), on="entity_id", how="left")


def _top_counterparty(ctx: Context) -> pl.LazyFrame:
    """Share of the money moved with others (in and out, 90 days) that one account accounts for."""
    return (
        ctx.legs.filter(WITH_OTHERS & window(90) & pl.col("cp_account").is_not_null())
        .group_by("entity_id", "cp_account")
        .agg(pl.col("cents").sum().alias("c"))
        .group_by("entity_id")
        .agg(
            ratio(pl.col("c").max().cast(pl.Float64), pl.col("c").sum().cast(pl.Float64)).alias(
                "amount_top_counterparty_share_90d"
            )
        )
    )


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """The amount family raises no red flag of its own (cash structuring has its own)."""
    return []


def rules() -> dict[str, pl.Expr]:
    """No rule of the baseline reads the amount family."""
    return {}
