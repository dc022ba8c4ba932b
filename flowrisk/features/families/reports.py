"""Reports received about the entity: how many, and from how many independent declarants; the
red flag and the rule of multi-declarant convergence on the same reports."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, instant
from flowrisk.features.evidence import MAX_EVIDENCE, counted, flag_rows
from flowrisk.reference import thresholds

__all__ = ["DECLARANTS", "FEATURES", "compute", "red_flags", "rules"]

(DECLARANTS,) = register_flags(
    RedFlag(
        "several_declarants",
        "reports",
        "Reports about the entity from several independent institutions within a year",
    ),
)

FEATURES = register(
    Feature(
        "reports_count_365d",
        "reports",
        "Reports received about the entity, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} report[s] received in a year",
    ),
    Feature(
        "reports_declarants_365d",
        "reports",
        "Distinct institutions that reported the entity, 365 days",
        "count",
        "365d",
        1,
        "Reported by {value:.0f} [institution|different institutions] in a year",
        red_flag=DECLARANTS.name,
    ),
    Feature(
        "reports_suspicious_count_365d",
        "reports",
        "Suspicious-activity reports, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} suspicious-activity report[s] in a year",
    ),
    Feature(
        "reports_declarants_total",
        "reports",
        "Distinct institutions that ever reported the entity before the profile date",
        "count",
        "all",
        1,
        "Reported by {value:.0f} [institution|different institutions] so far",
        red_flag=DECLARANTS.name,
    ),
)


def _before(ctx: Context) -> pl.LazyFrame:
    """Reports received strictly before the profile date."""
    return ctx.frame("reports").filter(pl.col("reported_at") < instant(ctx.as_of))


def _recent(ctx: Context) -> pl.Expr:
    """A report of the year before the profile date."""
    return pl.col("reported_at") >= instant(ctx.as_of - timedelta(days=365))


def compute(ctx: Context) -> pl.LazyFrame:
    recent = _recent(ctx)
    return (
        _before(ctx)
        .group_by("entity_id")
        .agg(
            recent.sum().alias("reports_count_365d"),
            pl.col("declarant_id").filter(recent).n_unique().alias("reports_declarants_365d"),
            (recent & (pl.col("category") == "suspicious_activity"))
            .sum()
            .alias("reports_suspicious_count_365d"),
            pl.col("declarant_id").n_unique().alias("reports_declarants_total"),
        )
    )


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Several declarants within a year: the reports ``reports_declarants_365d`` counts."""
    reports = _before(ctx).filter(_recent(ctx))
    if ctx.entities is not None:
        reports = reports.filter(pl.col("entity_id").is_in(ctx.entities))
    several = (
        reports.group_by("entity_id")
        .agg(
            pl.col("declarant_id").n_unique().alias("k"),
            pl.len().alias("n"),
            pl.format("report:{}", pl.col("report_id")).sort().head(MAX_EVIDENCE).alias("evidence"),
        )
        .filter(pl.col("k") >= thresholds().min_declarants)
    )
    text = pl.format(
        "{} from {} in a year",
        counted("n", "report", "reports"),
        counted("k", "declarant", "different declarants"),
    )
    return [flag_rows(several, DECLARANTS, text)]


def rules() -> dict[str, pl.Expr]:
    """Multi-declarant monitoring scenario, on profile columns."""
    return {"reported_twice": pl.col("reports_declarants_total") >= thresholds().min_declarants}
