"""Unexplained wealth: assets and spending set against the income a person declares; the red
flag and the rule of assets over income, on the same assets of the last 3 years."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, ratio, total
from flowrisk.features.evidence import MAX_EVIDENCE, counted, eur, flag_rows
from flowrisk.features.legs import CASH_DEPOSIT, INFLOW
from flowrisk.reference import thresholds

__all__ = ["ASSETS_OVER_INCOME", "FEATURES", "compute", "red_flags", "rules"]

(ASSETS_OVER_INCOME,) = register_flags(
    RedFlag(
        "assets_over_income",
        "wealth",
        "Assets held directly, bought in 3 years, worth several years of declared income",
    ),
)

FEATURES = register(
    Feature(
        "wealth_assets_to_income_3y",
        "wealth",
        "Value of assets acquired in the last 3 "
        "years (own, relatives', controlled companies') over yearly declared income",
        "ratio",
        "3y",
        1,
        "Assets acquired in 3 years are worth {value:.1f} years of declared income",
        red_flag=ASSETS_OVER_INCOME.name,
    ),
    Feature(
        "wealth_assets_value_3y",
        "wealth",
        "Value of assets acquired in the last 3 years, held directly",
        "EUR",
        "3y",
        1,
        "{value:,.0f} EUR of assets acquired in 3 years",
        red_flag=ASSETS_OVER_INCOME.name,
    ),
    Feature(
        "wealth_assets_via_links_3y",
        "wealth",
        "Value of assets acquired in the last 3 "
        "years held by relatives or companies the person controls",
        "EUR",
        "3y",
        1,
        "{value:,.0f} EUR of assets held through relatives or companies",
    ),
    Feature(
        "wealth_cash_paid_assets_3y",
        "wealth",
        "Value of assets paid in cash, last 3 years",
        "EUR",
        "3y",
        1,
        "{value:,.0f} EUR of assets paid in cash",
    ),
    Feature(
        "wealth_card_spend_to_income_365d",
        "wealth",
        "Card spending over yearly declared income",
        "ratio",
        "365d",
        1,
        "Card spending equals {value:.0%} of declared income",
    ),
    Feature(
        "wealth_inflow_to_income_365d",
        "wealth",
        "Money received from others over yearly declared income",
        "ratio",
        "365d",
        1,
        "Money received equals {value:.1f} times declared income",
    ),
    Feature(
        "wealth_cash_deposit_to_income_365d",
        "wealth",
        "Cash deposited over yearly declared income",
        "ratio",
        "365d",
        1,
        "Cash deposited equals {value:.0%} of declared income",
    ),
)

LINK_ROLES = ["relative", "beneficial_owner", "shareholder"]
ASSET_YEARS = 3
VALUE = pl.col("value").sort().sum()  # in sorted order: the same assets give the same bits


@cache
def _spend() -> tuple[pl.Expr, ...]:
    """Card spending, money received and cash deposited (built once, not per request)."""
    return (
        total(~pl.col("inbound") & (pl.col("channel") == "card")).alias("card"),
        total(INFLOW).alias("inflow"),
        total(CASH_DEPOSIT).alias("cash"),
    )


@cache
def _ratios() -> tuple[pl.Expr | str, ...]:
    """The features from the joined totals (built once, not per request)."""
    income = pl.col("declared_income")
    return (
        ratio(
            pl.col("wealth_assets_value_3y") + pl.col("wealth_assets_via_links_3y"), income
        ).alias("wealth_assets_to_income_3y"),
        "wealth_assets_value_3y",
        "wealth_assets_via_links_3y",
        (pl.col("cash_direct") + pl.col("cash_via")).alias("wealth_cash_paid_assets_3y"),
        ratio(pl.col("card"), income).alias("wealth_card_spend_to_income_365d"),
        ratio(pl.col("inflow"), income).alias("wealth_inflow_to_income_365d"),
        ratio(pl.col("cash"), income).alias("wealth_cash_deposit_to_income_365d"),
    )


def _assets(ctx: Context) -> pl.LazyFrame:
    """Assets acquired in the ``ASSET_YEARS`` years before the profile date."""
    as_of = ctx.as_of.date()
    start = as_of - timedelta(days=ASSET_YEARS * 365)
    return ctx.frame("assets").filter(
        (pl.col("acquired_at") < as_of) & (pl.col("acquired_at") >= start)
    )


def _held(value: str, cash: str) -> list[pl.Expr]:
    """Total value of a group's assets and the part paid in cash."""
    return [
        VALUE.alias(value),
        pl.col("value").filter(pl.col("payment_method") == "cash").sort().sum().alias(cash),
    ]


def compute(ctx: Context) -> pl.LazyFrame:
    as_of = ctx.as_of.date()
    assets = _assets(ctx)
    direct = assets.group_by("entity_id").agg(*_held("wealth_assets_value_3y", "cash_direct"))
    links = (
        ctx.frame("ownership")
        .filter(
            pl.col("role").is_in(LINK_ROLES)
            & (pl.col("since").is_null() | (pl.col("since") < as_of))
        )
        .select(pl.col("owner_entity_id").alias("entity_id"), "owned_entity_id")
        .unique()
    )
    via = (
        links.join(assets, left_on="owned_entity_id", right_on="entity_id")
        .group_by("entity_id")
        .agg(*_held("wealth_assets_via_links_3y", "cash_via"))
    )
    spend = ctx.legs.group_by("entity_id").agg(*_spend())
    persons = (
        ctx.frames["entities"]
        .filter(pl.col("entity_type") == "person")
        .select("entity_id", "declared_income")
    )
    joined = (
        persons.join(direct, on="entity_id", how="left")
        .join(via, on="entity_id", how="left")
        .join(spend, on="entity_id", how="left")
        .with_columns(
            pl.col(
                "wealth_assets_value_3y",
                "wealth_assets_via_links_3y",
                "cash_direct",
                "cash_via",
                "card",
                "inflow",
                "cash",
            ).fill_null(0.0)
        )
    )
    return joined.select("entity_id", *_ratios())


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Assets held directly (``wealth_assets_value_3y``) worth more than the cut-off's years of
    declared income; the rule reads the feature that adds assets held through links."""
    assets = _assets(ctx)
    if ctx.entities is not None:
        assets = assets.filter(pl.col("entity_id").is_in(ctx.entities))
    income = ctx.frame("entities").select("entity_id", "declared_income")
    over = (
        assets.group_by("entity_id")
        .agg(
            VALUE.alias("total"),
            pl.len().alias("n"),
            pl.format("asset:{}", pl.col("asset_id"))
            .sort_by(pl.col("value"), pl.col("asset_id"), descending=[True, False])
            .head(MAX_EVIDENCE)
            .alias("evidence"),
        )
        .join(income, on="entity_id", how="left")  # people: those with an income
        .filter(pl.col("total") > thresholds().assets_to_income * pl.col("declared_income"))
    )
    text = pl.format(
        f"{{}} worth {{}} bought in {ASSET_YEARS} years against a declared income of {{}} a year",
        counted("n", "asset", "assets"),
        eur("total"),
        eur("declared_income"),
    )
    return [flag_rows(over, ASSETS_OVER_INCOME, text)]


def rules() -> dict[str, pl.Expr]:
    """Unexplained-wealth monitoring scenario, on profile columns."""
    return {
        "assets_over_income": pl.col("wealth_assets_to_income_3y") > thresholds().assets_to_income
    }
