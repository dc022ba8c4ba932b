"""Unexplained wealth: assets and spending set against the income a person declares."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, ratio, total

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
    ),
    Feature(
        "wealth_assets_value_3y",
        "wealth",
        "Value of assets acquired in the last 3 years, held directly",
        "EUR",
        "3y",
        1,
        "{value:,.0f} EUR of assets acquired in 3 years",
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


@cache
def _spend() -> tuple[pl.Expr, ...]:
    """Card spending, money received and cash deposited (built once, not per request)."""
    return (
        total(~pl.col("inbound") & (pl.col("channel") == "card")).alias("card"),
        total(pl.col("inbound") & ~pl.col("is_self")).alias("inflow"),
        total(
            pl.col("inbound") & (pl.col("channel") == "cash") & pl.col("cp_account").is_null()
        ).alias("cash"),
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


def compute(ctx: Context) -> pl.LazyFrame:
    as_of = ctx.as_of.date()
    assets = ctx.frame("assets").filter(
        (pl.col("acquired_at") < as_of) & (pl.col("acquired_at") >= as_of - timedelta(days=3 * 365))
    )
    direct = assets.group_by("entity_id").agg(
        pl.col("value").sort().sum().alias("wealth_assets_value_3y"),
        pl.col("value")
        .filter(pl.col("payment_method") == "cash")
        .sort()
        .sum()
        .alias("cash_direct"),
    )
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
        .agg(
            pl.col("value").sort().sum().alias("wealth_assets_via_links_3y"),
            pl.col("value")
            .filter(pl.col("payment_method") == "cash")
            .sort()
            .sum()
            .alias("cash_via"),
        )
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
