"""Business fronts: a company's cash, takings, suppliers and seasonality against its sector.

The sector statistics are fitted at training time (:func:`sector_metrics` feeds
``fit_baselines``) and injected at scoring time; sectors without enough companies fall back to
the reference sector profiles.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, ratio, total
from flowrisk.features.legs import CASH_DEPOSIT, INFLOW
from flowrisk.reference import sectors, thresholds

__all__ = ["FEATURES", "compute", "fit_sector_baselines", "red_flags", "rules", "sector_metrics"]

FEATURES = register(
    Feature(
        "biz_cash_share_z_365d",
        "biz",
        "Cash share of takings against the sector: standard deviations above the sector median",
        "z",
        "365d",
        1,
        "Cash share of takings is {value:+.1f} standard deviations from the sector median "
        "({baseline:.0%})",
        baseline="cash_share_median",
    ),
    Feature(
        "biz_inflow_per_employee_z_365d",
        "biz",
        "Money received per employee against the sector (log scale, standard deviations)",
        "z",
        "365d",
        1,
        "Takings per employee are {value:+.1f} standard deviations from the sector "
        "(sector median {baseline:,.0f} EUR)",
        baseline="inflow_per_employee_median",
    ),
    Feature(
        "biz_revenue_per_employee_z",
        "biz",
        "Declared revenue per employee against the sector (log scale, standard deviations)",
        "z",
        "as_of",
        1,
        "Declared revenue per employee is {value:+.1f} standard deviations from the sector "
        "(sector median {baseline:,.0f} EUR)",
        baseline="revenue_per_employee_median",
    ),
    Feature(
        "biz_supplier_ratio_z_365d",
        "biz",
        "Spending on suppliers per euro of takings "
        "against the sector (standard deviations; low is unusual)",
        "z",
        "365d",
        -1,
        "Supplier spending is {value:+.1f} standard deviations from the sector median "
        "({baseline:.0%} of takings)",
        baseline="supplier_ratio_median",
    ),
    Feature(
        "biz_seasonality_gap_365d",
        "biz",
        "1 - correlation of monthly takings with the sector's seasonal profile",
        "score",
        "365d",
        1,
        "Monthly takings follow the sector's seasons poorly (gap {value:.2f})",
    ),
    Feature(
        "biz_takings_cv_365d",
        "biz",
        "Month-to-month variation of cash deposits (coefficient of variation over months "
        "with cash)",
        "ratio",
        "365d",
        0,
        "Monthly cash deposits vary by {value:.0%} from month to month",
    ),
    Feature(
        "biz_age_years",
        "biz",
        "Years since the company was registered",
        "years",
        "as_of",
        -1,
        "Company registered {value:.1f} years ago",
    ),
    Feature(
        "biz_closed",
        "biz",
        "1 when the company was closed before the date of the profile",
        "flag",
        "as_of",
        1,
        "Company already closed",
    ),
)

SUPPLIER = (
    ~pl.col("inbound")
    & ~pl.col("is_self")
    & (pl.col("channel") == "wire")
    & pl.col("cp_type").is_in(["business", "external"])
)
MIN_SECTOR = 5  # companies needed before a sector's own statistics are trusted


def sector_metrics(ctx: Context) -> pl.LazyFrame:
    """Raw per-company metrics the z-scores compare: one row per company."""
    companies = (
        ctx.frames["entities"]
        .filter(pl.col("entity_type") == "company")
        .select("entity_id", "sector_code", "employees", "declared_revenue")
    )
    if ctx.entities is not None:
        companies = companies.filter(pl.col("entity_id").is_in(ctx.entities))
    flows = ctx.legs.group_by("entity_id").agg(*_flow_metrics())
    return companies.join(flows, on="entity_id", how="left").select(*_per_employee())


@cache
def _flow_metrics() -> tuple[pl.Expr, ...]:
    """Inflow, cash share and supplier ratio of each company (built once, not per request)."""
    return (
        total(INFLOW).alias("inflow"),
        ratio(total(CASH_DEPOSIT), total(INFLOW)).alias("cash_share"),
        ratio(total(SUPPLIER), total(INFLOW)).alias("supplier_ratio"),
    )


@cache
def _per_employee() -> tuple[pl.Expr | str, ...]:
    """The metrics with money per employee on a log scale (built once, not per request)."""
    staff = pl.col("employees").cast(pl.Float64).clip(lower_bound=1)
    return (
        "entity_id",
        "sector_code",
        "cash_share",
        "supplier_ratio",
        pl.when(pl.col("inflow") > 0).then((pl.col("inflow") / staff).log()).alias("log_inflow_pe"),
        pl.when(pl.col("declared_revenue") > 0)
        .then((pl.col("declared_revenue") / staff).log())
        .alias("log_revenue_pe"),
    )


def _centre_spread(values: pl.Series) -> tuple[float | None, float | None]:
    """Median and sample standard deviation of the non-null values, added up in sorted order
    (NumPy, sequential) so that the same values always give the same bits."""
    x = np.sort(values.drop_nulls().drop_nans().to_numpy())
    if len(x) == 0:
        return None, None
    return float(np.median(x)), float(np.std(x, ddof=1)) if len(x) > 1 else None


METRICS = ("cash_share", "supplier_ratio", "log_inflow_pe", "log_revenue_pe")


def fit_sector_baselines(metrics: pl.LazyFrame) -> pl.DataFrame:
    """Per sector: centre and spread of each metric, with the reference profiles as fallback."""
    rows = []
    for group in metrics.collect().sort("sector_code").partition_by("sector_code"):
        if group.height < MIN_SECTOR:
            continue
        row: dict[str, object] = {"sector_code": group["sector_code"][0], "companies": group.height}
        for metric in METRICS:
            centre, spread = _centre_spread(group[metric])
            row[f"{metric}_median"], row[f"{metric}_sd"] = centre, spread
        rows.append(row)
    fitted = pl.DataFrame(
        rows,
        schema={
            "sector_code": pl.String,
            "companies": pl.UInt32,
            **{f"{m}_{k}": pl.Float64 for m in METRICS for k in ("median", "sd")},
        },
    ).select(
        "sector_code",
        "companies",
        "cash_share_median",
        "cash_share_sd",
        "supplier_ratio_median",
        "supplier_ratio_sd",
        "log_inflow_pe_median",
        "log_inflow_pe_sd",
        "log_revenue_pe_median",
        "log_revenue_pe_sd",
    )
    ref = (
        sectors()
        .select(
            pl.col("code").alias("sector_code"),
            pl.lit(0, dtype=pl.UInt32).alias("companies"),
            pl.col("cash_share").alias("cash_share_median"),
            pl.col("cash_share_sd").clip(lower_bound=0.02).alias("cash_share_sd"),
            pl.col("supplier_spend_ratio").alias("supplier_ratio_median"),
            pl.lit(0.15).alias("supplier_ratio_sd"),
            (pl.col("revenue_per_employee").log()).alias("log_inflow_pe_median"),
            pl.lit(0.5).alias("log_inflow_pe_sd"),
            (pl.col("revenue_per_employee").log()).alias("log_revenue_pe_median"),
            pl.lit(0.5).alias("log_revenue_pe_sd"),
        )
        .filter(~pl.col("sector_code").is_in(fitted["sector_code"].implode()))
    )
    return pl.concat([fitted, ref.select(fitted.columns)], how="vertical_relaxed").sort(
        "sector_code"
    )


def _z(value: str, centre: str, spread: str, floor: float) -> pl.Expr:
    return (pl.col(value) - pl.col(centre)) / pl.col(spread).fill_null(floor).clip(
        lower_bound=floor
    )


SEASON_TYPE = pl.Struct({"biz_seasonality_gap_365d": pl.Float64, "biz_takings_cv_365d": pl.Float64})


def _season_and_spread(months: dict[str, list[float]]) -> dict[str, float | None]:
    """From one company's months in order: 1 - correlation of takings with the sector's seasons
    (6 months or more) and the coefficient of variation of its cash months (3 or more). NumPy on
    ordered arrays, so the same months always give the same bits."""
    takings = np.asarray(months["takings"], dtype=np.float64)
    factor = np.asarray([np.nan if f is None else f for f in months["factor"]], dtype=np.float64)
    cash = np.asarray(months["cash"], dtype=np.float64)
    gap = None
    if len(takings) >= 6 and np.isfinite(factor).all() and takings.std() > 0 and factor.std() > 0:
        gap = float(1 - np.corrcoef(takings, factor)[0, 1])
    positive = cash[cash > 0]
    cv = float(positive.std(ddof=1) / positive.mean()) if len(positive) >= 3 else None
    return {"biz_seasonality_gap_365d": gap, "biz_takings_cv_365d": cv}


@cache
def _z_scores() -> tuple[pl.Expr, ...]:
    """Each company metric against its sector's centre and spread (built once, not per
    request)."""
    return (
        _z("cash_share", "cash_share_median", "cash_share_sd", 0.02).alias("biz_cash_share_z_365d"),
        _z("log_inflow_pe", "log_inflow_pe_median", "log_inflow_pe_sd", 0.1).alias(
            "biz_inflow_per_employee_z_365d"
        ),
        _z("log_revenue_pe", "log_revenue_pe_median", "log_revenue_pe_sd", 0.1).alias(
            "biz_revenue_per_employee_z"
        ),
        _z("supplier_ratio", "supplier_ratio_median", "supplier_ratio_sd", 0.02).alias(
            "biz_supplier_ratio_z_365d"
        ),
    )


@cache
def _seasons() -> pl.DataFrame:
    """Each sector's monthly seasonal factors, one row per (sector, month)."""
    return (
        sectors()
        .select(
            pl.col("code").alias("sector_code"),
            pl.col("seasonality").arr.to_list().alias("factor"),
            pl.lit(list(range(1, 13))).alias("month"),
        )
        .explode("factor", "month")
    )


def compute(ctx: Context) -> pl.LazyFrame:
    base = ctx.baselines["sector"].lazy()
    z = (
        sector_metrics(ctx)
        .join(base, on="sector_code", how="left")
        .select("entity_id", *_z_scores())
    )
    season = _seasons().lazy()
    companies = ctx.frames["entities"].filter(pl.col("entity_type") == "company")
    monthly = (
        ctx.legs.filter(INFLOW | CASH_DEPOSIT)
        .group_by("entity_id", pl.col("ts").dt.truncate("1mo").alias("m"))
        .agg(
            total(INFLOW).alias("takings"),
            total(CASH_DEPOSIT).alias("cash"),
        )
        .join(companies.select("entity_id", "sector_code"), on="entity_id")
        .with_columns(pl.col("m").dt.month().cast(pl.Int64).alias("month"))
        .join(season, on=["sector_code", "month"], how="left")
        .group_by("entity_id")
        .agg(pl.col("takings", "factor", "cash").sort_by("m"))
        .select(
            "entity_id",
            pl.struct("takings", "factor", "cash")
            .map_elements(_season_and_spread, return_dtype=SEASON_TYPE)
            .alias("s"),
        )
        .unnest("s")
    )
    as_of_date = ctx.as_of.date()
    dates = companies.select(
        "entity_id",
        ((pl.lit(as_of_date) - pl.col("registration_date")).dt.total_days() / 365.25).alias(
            "biz_age_years"
        ),
        (pl.col("closure_date").is_not_null() & (pl.col("closure_date") <= as_of_date))
        .cast(pl.Int8)
        .alias("biz_closed"),
    )
    return dates.join(z, on="entity_id", how="left").join(monthly, on="entity_id", how="left")


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """No red flag of its own: a front's cash shows in the cash family's flags."""
    return []


def rules() -> dict[str, pl.Expr]:
    """Cash-heavy company monitoring scenario, on profile columns."""
    return {"cash_heavy_company": pl.col("biz_cash_share_z_365d") > thresholds().rule_cash_share_z}
