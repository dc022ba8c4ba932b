"""Networks: counterparties, round trips through other entities, owners and owned companies,
and how many of the entity's neighbours have been reported; the round-trip red flag on the same
payments (between two entities, at least the network's minimum amount)."""

from __future__ import annotations

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, instant, total
from flowrisk.features.evidence import counted, eur, flag_rows, txn_ids
from flowrisk.features.legs import WITH_OTHERS
from flowrisk.reference import thresholds

__all__ = ["FEATURES", "ROUND_TRIPS", "compute", "red_flags", "rules"]

(ROUND_TRIPS,) = register_flags(
    RedFlag(
        "round_trips",
        "net",
        "Money sent to counterparties that sent money back (A->B->A)",
    ),
)

FEATURES = register(
    Feature(
        "net_degree_365d",
        "net",
        "Distinct counterparties (accounts), 365 days",
        "count",
        "365d",
        1,
        "Deals with {value:.0f} [account|different accounts]",
    ),
    Feature(
        "net_cycles_365d",
        "net",
        f"Round trips of at least {thresholds().network_edge_min:,.0f} EUR through one or two "
        "other entities (A->B->A, A->B->C->A), 365 days",
        "count",
        "365d",
        1,
        "Money went round through other entities {value:.0f} time[s]",
        red_flag=ROUND_TRIPS.name,
    ),
    Feature(
        "net_owned_companies",
        "net",
        "Companies the entity owns or controls",
        "count",
        "as_of",
        1,
        "Owns or controls {value:.0f} [company|companies]",
    ),
    Feature(
        "net_owners",
        "net",
        "Owners, shareholders and directors of the entity",
        "count",
        "as_of",
        0,
        "{value:.0f} [owner or director|owners or directors]",
    ),
    Feature(
        "net_shared_owner_companies",
        "net",
        "Other companies sharing an owner with the entity",
        "count",
        "as_of",
        1,
        "Shares owners with {value:.0f} [other company|other companies]",
    ),
    Feature(
        "net_reported_counterparties_365d",
        "net",
        "Counterparties reported to the unit before the profile date, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} [counterparty has|counterparties have] been reported",
    ),
    Feature(
        "net_reported_links",
        "net",
        "Owners, owned companies and relatives that have been reported",
        "count",
        "as_of",
        1,
        "{value:.0f} [linked entity has|linked entities have] been reported",
    ),
)

CONTROL = ["beneficial_owner", "shareholder"]
# a leg with another entity of the dataset (not an external account, not the entity itself)
WITH_ENTITY = WITH_OTHERS & pl.col("cp_entity").is_not_null()


def compute(ctx: Context) -> pl.LazyFrame:
    degree = (
        ctx.legs.filter(WITH_OTHERS & pl.col("cp_account").is_not_null())
        .group_by("entity_id")
        .agg(pl.col("cp_account").n_unique().alias("net_degree_365d"))
    )
    out = degree
    for frame in (_cycles(ctx), *_ownership(ctx), *_reported(ctx)):
        out = out.join(frame, on="entity_id", how="full", coalesce=True)
    return out


def _cycles(ctx: Context) -> pl.LazyFrame:
    """Round trips through one or two other entities (A->B->A, A->B->C->A)."""
    edges = ctx.edges
    mine = ctx.legs.select(pl.col("entity_id").alias("a")).unique()
    back = edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"))
    two = edges.join(mine, on="a", how="semi").join(back, on=["a", "b"], how="semi")
    two = two.group_by("a").len()
    three = (
        edges.join(mine, on="a", how="semi")
        .join(edges.rename({"a": "b", "b": "c"}), on="b")
        .filter(pl.col("c") != pl.col("a"))
        .join(edges.rename({"a": "c", "b": "a"}), on=["c", "a"], how="semi")
        .group_by("a")
        .len()
    )
    return (
        pl.concat([two, three])
        .group_by("a")
        .agg(pl.col("len").sum().alias("net_cycles_365d"))
        .rename({"a": "entity_id"})
    )


def _links(ctx: Context) -> pl.LazyFrame:
    """Ownership links in force before the profile date."""
    as_of = ctx.as_of.date()
    return ctx.frame("ownership").filter(pl.col("since").is_null() | (pl.col("since") < as_of))


def _ownership(ctx: Context) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Companies owned, owners, and companies sharing an owner."""
    links = _links(ctx)
    control = links.filter(pl.col("role").is_in(CONTROL))
    owned = (
        control.group_by("owner_entity_id")
        .agg(pl.col("owned_entity_id").n_unique().alias("net_owned_companies"))
        .rename({"owner_entity_id": "entity_id"})
    )
    owners = (
        links.filter(pl.col("role") != "relative")
        .group_by("owned_entity_id")
        .agg(pl.col("owner_entity_id").n_unique().alias("net_owners"))
        .rename({"owned_entity_id": "entity_id"})
    )
    siblings = (
        control.select("owner_entity_id", pl.col("owned_entity_id").alias("entity_id"))
        .join(
            control.select("owner_entity_id", pl.col("owned_entity_id").alias("sibling")),
            on="owner_entity_id",
        )
        .filter(pl.col("sibling") != pl.col("entity_id"))
        .group_by("entity_id")
        .agg(pl.col("sibling").n_unique().alias("net_shared_owner_companies"))
    )
    return owned, owners, siblings


def _reported(ctx: Context) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Counterparties and linked entities reported before the profile date."""
    reported = (
        ctx.frame("reports")
        .filter(pl.col("reported_at") < instant(ctx.as_of))
        .select("entity_id")
        .unique()
    )
    reported_cp = (
        ctx.legs.filter(WITH_ENTITY)
        .select("entity_id", "cp_entity")
        .unique()
        .join(reported, left_on="cp_entity", right_on="entity_id", how="semi")
        .group_by("entity_id")
        .agg(pl.len().alias("net_reported_counterparties_365d"))
    )
    links = _links(ctx)
    pairs = pl.concat(
        [
            links.select(
                pl.col("owner_entity_id").alias("entity_id"),
                pl.col("owned_entity_id").alias("other"),
            ),
            links.select(
                pl.col("owned_entity_id").alias("entity_id"),
                pl.col("owner_entity_id").alias("other"),
            ),
        ]
    ).unique()
    reported_links = (
        pairs.join(reported, left_on="other", right_on="entity_id", how="semi")
        .group_by("entity_id")
        .agg(pl.len().alias("net_reported_links"))
    )
    return reported_cp, reported_links


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Round trips: counterparties the entity both paid and was paid by, each payment at least
    the network's minimum amount (the payments ``net_cycles_365d`` follows)."""
    big = ctx.legs.filter(WITH_ENTITY & (pl.col("amount") >= thresholds().network_edge_min))
    sent = big.filter(~pl.col("inbound")).select("entity_id", "cp_entity").unique()
    back = big.filter(pl.col("inbound")).select("entity_id", "cp_entity").unique()
    partners = sent.join(back, on=["entity_id", "cp_entity"])
    rounds = (
        big.join(partners, on=["entity_id", "cp_entity"])
        .group_by("entity_id")
        .agg(
            pl.col("cp_entity").n_unique().alias("k"),
            total(~pl.col("inbound")).alias("out"),
            txn_ids().alias("evidence"),
        )
    )
    text = pl.format(
        "money went to and came back from {} ({} sent out to them)",
        counted("k", "counterparty", "counterparties"),
        eur("out"),
    )
    return [flag_rows(rounds, ROUND_TRIPS, text)]


def rules() -> dict[str, pl.Expr]:
    """No rule of the baseline reads the network family."""
    return {}
