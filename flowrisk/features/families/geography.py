"""Geography: flows with FATF/EU-listed jurisdictions and watched hubs."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, ratio, total

FEATURES = register(
    Feature(
        "geo_high_risk_share_365d",
        "geo",
        "Share of money moved with counterparties in "
        "FATF- or EU-listed high-risk countries, 365 days",
        "share",
        "365d",
        1,
        "{value:.0%} of the money moved goes to or comes from listed high-risk countries",
    ),
    Feature(
        "geo_watched_share_365d",
        "geo",
        "Share of money moved with listed countries or watched hubs (e.g. UAE), 365 days",
        "share",
        "365d",
        1,
        "{value:.0%} of the money moved involves listed countries or watched hubs",
    ),
    Feature(
        "geo_high_risk_count_365d",
        "geo",
        "Transactions with high-risk countries, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} transactions with listed high-risk countries",
    ),
    Feature(
        "geo_distinct_countries_365d",
        "geo",
        "Distinct counterparty countries, 365 days",
        "count",
        "365d",
        1,
        "Money moved with {value:.0f} different countries",
    ),
)


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (expressions are immutable: built once, not per request)."""
    return (
        ratio(total(pl.col("cp_high_risk")), total()).alias("geo_high_risk_share_365d"),
        ratio(total(pl.col("cp_watched")), total()).alias("geo_watched_share_365d"),
        pl.col("cp_high_risk").sum().alias("geo_high_risk_count_365d"),
        pl.col("cp_country").drop_nulls().n_unique().alias("geo_distinct_countries_365d"),
    )


def compute(ctx: Context) -> pl.LazyFrame:
    return ctx.legs.filter(~pl.col("is_self")).group_by("entity_id").agg(*_per_entity())
