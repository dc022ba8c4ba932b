"""Per-entity traits that make each typology visible in the raw tables, computed with Polars.

These are the most obvious single signals an analyst (or a rule engine) would look at; the
generator tests use them to show each signature is present and that honest look-alikes exist.
"""

from __future__ import annotations

import polars as pl

from flowrisk.reference import jurisdictions, thresholds


def _legs(world: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Each transaction seen from each entity-held side: entity, direction, counterparty."""
    acc = world["accounts"].select(
        "account_id", "entity_id", "account_type", "country", "risk_tags"
    )
    counterparty = acc.select(
        pl.col("account_id").alias("cp_account"),
        pl.col("entity_id").alias("cp_entity"),
        pl.col("account_type").alias("cp_type"),
        pl.col("country").alias("cp_country"),
        pl.col("risk_tags").alias("cp_tags"),
    )
    legs = []
    for own, other, direction in (
        ("dst_account_id", "src_account_id", "in"),
        ("src_account_id", "dst_account_id", "out"),
    ):
        leg = (
            world["transactions"]
            .join(acc, left_on=own, right_on="account_id")
            .with_columns(pl.col(other).alias("cp_account"), pl.lit(direction).alias("dir"))
            .join(counterparty, on="cp_account", how="left")
        )
        legs.append(leg)
    return pl.concat(legs, how="diagonal_relaxed").filter(pl.col("entity_id").is_not_null())


def entity_traits(world: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per entity with its label groups and the traits of every typology."""
    t = thresholds()
    legs = _legs(world)
    near_lo = t.near_threshold_fraction
    cash_in = legs.filter((pl.col("dir") == "in") & (pl.col("channel") == "cash"))
    month = pl.col("ts").dt.month()
    near_months = (
        cash_in.group_by("entity_id", month.alias("m"))
        .agg(pl.col("amount").sum())
        .filter(
            pl.col("amount").is_between(
                near_lo * t.cosi_cash_monthly, t.cosi_cash_monthly, closed="left"
            )
        )
        .group_by("entity_id")
        .agg(pl.len().alias("near_months"))
    )
    near_remit = (
        legs.filter(
            (pl.col("dir") == "out")
            & (pl.col("channel") == "remittance")
            & pl.col("amount").is_between(
                near_lo * t.remittance_cash_per_operation,
                t.remittance_cash_per_operation,
                closed="left",
            )
        )
        .group_by("entity_id")
        .agg(pl.len().alias("near_remittances"))
    )
    inflows = (
        legs.filter(pl.col("dir") == "in")
        .group_by("entity_id")
        .agg(
            pl.col("amount").sum().alias("inflow"),
            (
                pl.col("amount").filter(pl.col("channel") == "cash").sum() / pl.col("amount").sum()
            ).alias("cash_share"),
            pl.col("cp_account").drop_nulls().n_unique().alias("payers"),
            ((pl.col("amount") % 500 == 0) & (pl.col("channel") == "cash"))
            .sum()
            .alias("round_cash"),
            (pl.col("channel") == "cash").sum().alias("cash_deposits"),
        )
    )
    outflows = (
        legs.filter(pl.col("dir") == "out")
        .group_by("entity_id")
        .agg(pl.col("amount").sum().alias("outflow"))
    )
    watched = sorted(jurisdictions().watched)
    geo = legs.group_by("entity_id").agg(
        (
            pl.col("amount").filter(pl.col("cp_country").is_in(watched)).sum()
            / pl.col("amount").sum()
        ).alias("watched_share"),
        pl.col("cp_country")
        .is_in(sorted(jurisdictions().high_risk))
        .sum()
        .alias("high_risk_flows"),
    )
    crypto = legs.group_by("entity_id").agg(
        (pl.col("cp_tags").list.len().fill_null(0) > 0).sum().alias("tagged_hops"),
        pl.col("amount")
        .filter((pl.col("dir") == "out") & (pl.col("cp_type") == "crypto_exchange"))
        .sum()
        .alias("onramp"),
    )
    decl = (
        world["reports"]
        .group_by("entity_id")
        .agg(pl.col("declarant_id").n_unique().alias("declarants"))
    )
    start = world["transactions"]["ts"].min().date()
    assets = (
        world["assets"]
        .filter(pl.col("acquired_at") >= start)
        .group_by("entity_id")
        .agg(pl.col("value").sum().alias("assets"))
    )
    links = world["ownership"].filter(pl.col("role").is_in(["relative", "beneficial_owner"]))
    via = (
        links.join(assets, left_on="owned_entity_id", right_on="entity_id")
        .group_by("owner_entity_id")
        .agg(pl.col("assets").sum().alias("via"))
    )
    wealth = (
        world["entities"]
        .select("entity_id", "declared_income")
        .join(assets, on="entity_id", how="left")
        .join(via, left_on="entity_id", right_on="owner_entity_id", how="left")
        .select(
            "entity_id",
            (
                (pl.col("assets").fill_null(0) + pl.col("via").fill_null(0))
                / pl.col("declared_income")
            ).alias("wealth_ratio"),
        )
    )
    base = (
        world["entities"]
        .select("entity_id", "entity_type", "sector_code")
        .join(world["labels"].select("entity_id", "label", "typologies"), on="entity_id")
    )
    out = base
    for frame in (near_months, near_remit, inflows, outflows, geo, crypto, decl, wealth):
        out = out.join(frame, on="entity_id", how="left")
    numeric = [c for c, d in out.schema.items() if d.is_numeric() and c != "label"]
    return out.with_columns(pl.col(numeric).fill_null(0)).with_columns(
        (pl.col("near_months") + pl.col("near_remittances")).alias("near_threshold"),
        (pl.col("outflow") / pl.col("inflow")).fill_nan(0).alias("pass_through"),
        (pl.col("round_cash") / pl.col("cash_deposits")).fill_nan(0).alias("round_cash_share"),
    )


def members(traits: pl.DataFrame, typology: str) -> pl.DataFrame:
    """Entities labelled with ``typology``."""
    return traits.filter(pl.col("typologies").cast(pl.List(pl.String)).list.contains(typology))


def honest(traits: pl.DataFrame) -> pl.DataFrame:
    """Entities with label 0."""
    return traits.filter(pl.col("label") == 0)


def best_threshold_f1(traits: pl.DataFrame, typology: str, trait: str) -> float:
    """Best F1 of the rule ``trait >= x`` at separating ``typology`` members from honest ones."""
    g = members(traits, typology)[trait].to_numpy()
    h = honest(traits)[trait].to_numpy()
    best = 0.0
    for x in sorted(set(g.tolist())):
        tp = float((g >= x).sum())
        fp = float((h >= x).sum())
        fn = float(len(g) - tp)
        if tp:
            best = max(best, 2 * tp / (2 * tp + fp + fn))
    return best


def round_trip_partners(world: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per entity: how many entities it both pays and is paid by (money going round)."""
    legs = _legs(world).filter(
        pl.col("cp_entity").is_not_null() & (pl.col("cp_entity") != pl.col("entity_id"))
    )
    both = legs.group_by("entity_id", "cp_entity").agg(pl.col("dir").n_unique().alias("dirs"))
    return (
        both.filter(pl.col("dirs") == 2)
        .group_by("entity_id")
        .agg(pl.len().alias("round_trip_partners"))
    )
