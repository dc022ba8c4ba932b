"""Neighbourhood: what the entity's counterparties themselves look like (the largest value over
them of how many counterparties and payers they have, the amounts they move and how often), and
how far the entity reaches in two hops. Mules and funnels deal with accounts that look like
them; honest people mostly pay and are paid by hubs (employers, shops, landlords).

One vectorised pass: per-account statistics of every account seen in the last 90 days, joined to
the entity's counterparties; only transactions strictly before the profile date."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, instant, integer_cv, window
from flowrisk.features.legs import WITH_OTHERS
from flowrisk.reference import thresholds

__all__ = ["FEATURES", "compute", "red_flags", "rules"]

DAYS = 90
HUB = thresholds().two_hop_max_degree

# counterparty statistic -> its wording
MEASURES = {
    "degree": "distinct counterparties",
    "fanin": "distinct payers",
    "amount_median": "median amount",
    "amount_cv": "spread of amounts (standard deviation over mean)",
    "txn_count": "transactions",
}
UNITS = {"degree": "count", "fanin": "count", "amount_median": "EUR", "amount_cv": "ratio"}

FEATURES = register(
    *(
        Feature(
            f"neighbourhood_cp_{measure}_max_90d",
            "neighbourhood",
            f"Largest over the entity's counterparties of their own {text}, 90 days",
            UNITS.get(measure, "count"),
            "90d",
            0,
            f"Counterparties' {text}: largest {{value:,.2f}} (90 days)",
        )
        for measure, text in MEASURES.items()
    ),
    Feature(
        "neighbourhood_two_hop_reach_90d",
        "neighbourhood",
        "Distinct accounts the entity's counterparties dealt with (counterparties with at most "
        f"{HUB:,.0f} counterparties of their own), 90 days",
        "count",
        "90d",
        0,
        "Reaches {value:,.0f} account[s] in two hops (90 days)",
    ),
)


def _sides(ctx: Context) -> pl.LazyFrame:
    """Every transaction of the last 90 days from both ends: (account, other, amount, inbound)."""
    tx = ctx.transactions.filter(pl.col("ts") >= instant(ctx.as_of - timedelta(days=DAYS)))
    return pl.concat(
        [
            tx.select(
                pl.col(own).alias("account"),
                pl.col(other).alias("other"),
                "amount",
                (pl.col("amount") * 100).round(0).cast(pl.Int64).alias("cents"),
                pl.lit(inbound).alias("inbound"),
            ).filter(pl.col("account").is_not_null())
            for own, other, inbound in (
                ("src_account_id", "dst_account_id", False),
                ("dst_account_id", "src_account_id", True),
            )
        ]
    )


@cache
def _account_stats() -> tuple[pl.Expr, ...]:
    others = pl.col("other").drop_nulls()
    amounts = pl.col("amount")
    return (
        others.n_unique().cast(pl.Float64).alias("degree"),
        pl.col("other")
        .filter(pl.col("inbound"))
        .drop_nulls()
        .n_unique()
        .cast(pl.Float64)
        .alias("fanin"),
        amounts.median().alias("amount_median"),
        integer_cv(pl.col("cents")).alias("amount_cv"),
        pl.len().cast(pl.Float64).alias("txn_count"),
    )


@cache
def _aggregations() -> tuple[pl.Expr, ...]:
    """The largest value over the counterparties. Not their mean: a mean over counterparties
    moves whenever one ordinary counterparty is added (a second employer shifted it enough to
    raise an honest score in tests/model/test_behaviour.py)."""
    return tuple(pl.col(m).max().alias(f"neighbourhood_cp_{m}_max_90d") for m in MEASURES)


def compute(ctx: Context) -> pl.LazyFrame:
    sides = _sides(ctx)
    stats = sides.group_by("account").agg(*_account_stats())
    pairs = (
        ctx.legs.filter(WITH_OTHERS & window(DAYS) & pl.col("cp_account").is_not_null())
        .select("entity_id", "cp_account")
        .unique()
    )
    around = (
        pairs.join(stats, left_on="cp_account", right_on="account", how="left")
        .group_by("entity_id")
        .agg(*_aggregations())
    )
    return around.join(_two_hop(ctx, pairs, sides, stats), on="entity_id", how="left")


def _two_hop(
    ctx: Context, pairs: pl.LazyFrame, sides: pl.LazyFrame, stats: pl.LazyFrame
) -> pl.LazyFrame:
    """Distinct accounts at two hops, through counterparties that are not hubs, leaving out the
    entity's own accounts."""
    small = stats.filter(pl.col("degree") <= HUB).select("account")
    links = sides.filter(pl.col("other").is_not_null()).select("account", "other").unique()
    owner = ctx.frames["accounts"].select(
        pl.col("account_id").alias("other"), pl.col("entity_id").alias("other_entity")
    )
    return (
        pairs.join(small, left_on="cp_account", right_on="account", how="semi")
        .join(links, left_on="cp_account", right_on="account")
        .join(owner, on="other", how="left")
        .filter(pl.col("other_entity").is_null() | (pl.col("other_entity") != pl.col("entity_id")))
        .group_by("entity_id")
        .agg(pl.col("other").n_unique().alias("neighbourhood_two_hop_reach_90d"))
    )


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """The neighbourhood family raises no red flag."""
    return []


def rules() -> dict[str, pl.Expr]:
    """No rule of the baseline reads the neighbourhood family."""
    return {}
