"""Flow-through: how much comes in and goes out, from how many, how fast, and what stays."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, ratio, total, window

FEATURES = register(
    Feature(
        "flow_inflow_sum_90d",
        "flow",
        "Money received from others over 90 days",
        "EUR",
        "90d",
        0,
        "{value:,.0f} EUR received in 90 days",
    ),
    Feature(
        "flow_outflow_sum_90d",
        "flow",
        "Money sent to others over 90 days",
        "EUR",
        "90d",
        0,
        "{value:,.0f} EUR sent in 90 days",
    ),
    Feature(
        "flow_out_in_ratio_90d",
        "flow",
        "Money sent out per euro received, 90 days",
        "ratio",
        "90d",
        1,
        "{value:.2f} EUR sent out for every euro received in 90 days",
    ),
    Feature(
        "flow_distinct_payers_90d",
        "flow",
        "Distinct accounts paying the entity, 90 days",
        "count",
        "90d",
        1,
        "{value:.0f} different payers in 90 days (fan-in)",
    ),
    Feature(
        "flow_distinct_payees_90d",
        "flow",
        "Distinct accounts paid by the entity, 90 days",
        "count",
        "90d",
        1,
        "{value:.0f} different payees in 90 days (fan-out)",
    ),
    Feature(
        "flow_new_payer_share_90d",
        "flow",
        "Share of the last 90 days' payers never seen in the 275 days before",
        "share",
        "90d",
        1,
        "{value:.0%} of payers in the last 90 days are new",
    ),
    Feature(
        "flow_median_hold_hours_90d",
        "flow",
        "Median hours between money arriving and the next payment out, 90 days",
        "hours",
        "90d",
        -1,
        "Money leaves a median {value:.0f} hours after it arrives",
    ),
    Feature(
        "flow_txn_count_30d",
        "flow",
        "Transactions with others over 30 days (velocity)",
        "count",
        "30d",
        1,
        "{value:.0f} transactions in 30 days",
    ),
)

OTHERS = ~pl.col("is_self")


INFLOW = pl.col("inbound") & OTHERS
OUTFLOW = ~pl.col("inbound") & OTHERS


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (expressions are immutable: built once, not per request)."""
    payer = pl.col("cp_account").filter(INFLOW & window(90) & pl.col("cp_account").is_not_null())
    return (
        total(INFLOW & window(90)).alias("flow_inflow_sum_90d"),
        total(OUTFLOW & window(90)).alias("flow_outflow_sum_90d"),
        ratio(total(OUTFLOW & window(90)), total(INFLOW & window(90))).alias(
            "flow_out_in_ratio_90d"
        ),
        payer.n_unique().alias("flow_distinct_payers_90d"),
        pl.col("cp_account")
        .filter(OUTFLOW & window(90) & pl.col("cp_account").is_not_null())
        .n_unique()
        .alias("flow_distinct_payees_90d"),
        (OTHERS & window(30)).sum().alias("flow_txn_count_30d"),
    )


def compute(ctx: Context) -> pl.LazyFrame:
    per_entity = ctx.legs.group_by("entity_id").agg(*_per_entity())
    hold = (
        ctx.legs.filter(OTHERS)
        .sort("entity_id", "ts", "inbound", "txn_id")
        .with_columns(
            pl.when(pl.col("inbound"))
            .then(pl.col("ts"))
            .forward_fill()
            .over("entity_id")
            .alias("last_in")
        )
        .filter(~pl.col("inbound") & window(90) & pl.col("last_in").is_not_null())
        .group_by("entity_id")
        .agg(
            ((pl.col("ts") - pl.col("last_in")).dt.total_seconds() / 3600)
            .median()
            .alias("flow_median_hold_hours_90d")
        )
    )
    # a payer of the last 90 days is new when it never paid before that window
    new_payers = (
        ctx.legs.filter(INFLOW & pl.col("cp_account").is_not_null())
        .group_by("entity_id", "cp_account")
        .agg(pl.col("age_days").min().alias("latest"), pl.col("age_days").max().alias("first"))
        .filter(pl.col("latest") < 90)
        .group_by("entity_id")
        .agg((pl.col("first") < 90).mean().alias("flow_new_payer_share_90d"))
    )
    return per_entity.join(hold, on="entity_id", how="left").join(
        new_payers, on="entity_id", how="left"
    )
