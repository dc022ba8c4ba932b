"""Geography: flows with FATF/EU-listed jurisdictions and watched hubs; the red flag and the
rule on the same legs (with others, counterparty in a listed country)."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, ratio, total
from flowrisk.features.evidence import counted, eur, flag_rows, txn_ids
from flowrisk.features.legs import WITH_OTHERS
from flowrisk.reference import thresholds

__all__ = ["FEATURES", "HIGH_RISK", "compute", "red_flags", "rules"]

(HIGH_RISK,) = register_flags(
    RedFlag(
        "high_risk_jurisdictions",
        "geo",
        "Transfers with counterparties in FATF- or EU-listed high-risk countries",
    ),
)

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
        red_flag=HIGH_RISK.name,
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
        "{value:.0f} transaction[s] with listed high-risk countries",
        red_flag=HIGH_RISK.name,
    ),
    Feature(
        "geo_distinct_countries_365d",
        "geo",
        "Distinct counterparty countries, 365 days",
        "count",
        "365d",
        1,
        "Money moved with {value:.0f} [country|different countries]",
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
    return ctx.legs.filter(WITH_OTHERS).group_by("entity_id").agg(*_per_entity())


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Transfers with listed high-risk countries: the legs ``geo_high_risk_count_365d`` counts."""
    geo = (
        ctx.legs.filter(WITH_OTHERS & pl.col("cp_high_risk"))
        .group_by("entity_id")
        .agg(
            pl.len().alias("n"),
            total().alias("total"),
            pl.col("cp_country").unique().sort().str.join(", ").alias("countries"),
            txn_ids().alias("evidence"),
        )
    )
    text = pl.format(
        "{} ({}) with high-risk jurisdictions: {}",
        counted("n", "transfer", "transfers"),
        eur("total"),
        "countries",
    )
    return [flag_rows(geo, HIGH_RISK, text)]


def rules() -> dict[str, pl.Expr]:
    """High-risk country monitoring scenario, on profile columns."""
    return {
        "high_risk_country": pl.col("geo_high_risk_share_365d") > thresholds().rule_high_risk_share
    }
