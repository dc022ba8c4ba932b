"""Reports received about the entity: how many, and from how many independent declarants."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, instant

FEATURES = register(
    Feature(
        "reports_count_365d",
        "reports",
        "Reports received about the entity, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} reports received in a year",
    ),
    Feature(
        "reports_declarants_365d",
        "reports",
        "Distinct institutions that reported the entity, 365 days",
        "count",
        "365d",
        1,
        "Reported by {value:.0f} different institutions in a year",
    ),
    Feature(
        "reports_suspicious_count_365d",
        "reports",
        "Suspicious-activity reports, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} suspicious-activity reports in a year",
    ),
    Feature(
        "reports_declarants_total",
        "reports",
        "Distinct institutions that ever reported the entity before the profile date",
        "count",
        "all",
        1,
        "Reported by {value:.0f} different institutions so far",
    ),
)


def compute(ctx: Context) -> pl.LazyFrame:
    before = ctx.frame("reports").filter(pl.col("reported_at") < instant(ctx.as_of))
    recent = pl.col("reported_at") >= instant(ctx.as_of - timedelta(days=365))
    return before.group_by("entity_id").agg(
        recent.sum().alias("reports_count_365d"),
        pl.col("declarant_id").filter(recent).n_unique().alias("reports_declarants_365d"),
        (recent & (pl.col("category") == "suspicious_activity"))
        .sum()
        .alias("reports_suspicious_count_365d"),
        pl.col("declarant_id").n_unique().alias("reports_declarants_total"),
    )
