"""Each typology leaves its signature in the data, and honest look-alikes share its most obvious
trait: no single rule separates the guilty from the rest."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flowrisk.io import read_dataset
from flowrisk.reference import sectors
from flowrisk.schema import TABLES
from flowrisk.synth import TypologyParams, WorldParams, generate_world
from flowrisk.synth.typologies.wealth import WEALTH_FACTOR

from .traits import best_threshold_f1, entity_traits, honest, members, round_trip_partners

# The most obvious single trait of each typology, as a rule engine would test it.
OBVIOUS_TRAIT = {
    "structuring": "near_threshold",
    "front_business": "cash_share",
    "unexplained_wealth": "wealth_ratio",
    "crypto": "tagged_hops",
    "mule": "payers",
    "high_risk_jurisdiction": "watched_share",
    "layering": "round_trip_partners",
    "multi_declarant": "declarants",
}


@pytest.fixture(scope="module")
def traits(world: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return (
        entity_traits(world)
        .join(round_trip_partners(world), on="entity_id", how="left")
        .with_columns(pl.col("round_trip_partners").fill_null(0))
    )


def test_structuring_sits_just_under_the_thresholds(traits: pl.DataFrame) -> None:
    g, h = members(traits, "structuring"), honest(traits)
    assert (g["near_threshold"] >= 1).mean() >= 0.8
    assert g["near_threshold"].median() >= 3
    assert (h["near_threshold"] >= 1).mean() < 0.05


def test_structuring_spreads_over_branches_and_accounts(world: dict[str, pl.DataFrame]) -> None:
    flagged = world["transaction_labels"].filter(pl.col("typology") == "structuring")
    deposits = (
        world["transactions"]
        .join(flagged, on="txn_id")
        .filter((pl.col("channel") == "cash") & pl.col("src_account_id").is_null())
    )
    per_entity = deposits.group_by("entity_id").agg(
        pl.col("branch_id").n_unique().alias("branches"),
        pl.col("dst_account_id").n_unique().alias("accounts"),
    )
    assert per_entity["branches"].median() >= 4
    assert (per_entity["accounts"] >= 2).mean() >= 0.5


def test_fronts_take_far_more_cash_than_their_sector(traits: pl.DataFrame) -> None:
    fronts = members(traits, "front_business")
    shops = honest(traits).filter(
        pl.col("sector_code").is_in(fronts["sector_code"].unique().implode())
    )
    by_sector = fronts.group_by("sector_code").agg(pl.col("cash_share").median().alias("front"))
    by_sector = by_sector.join(
        shops.group_by("sector_code").agg(pl.col("cash_share").median().alias("honest")),
        on="sector_code",
    ).join(
        sectors().select(pl.col("code").alias("sector_code"), pl.col("cash_share").alias("ref")),
        on="sector_code",
    )
    assert (by_sector["front"] >= by_sector["honest"] + 0.25).all(), by_sector
    assert (by_sector["front"] >= by_sector["ref"] + 0.2).all(), by_sector
    # round sums are far more common in a front's deposits
    assert fronts["round_cash_share"].median() > 2 * shops["round_cash_share"].median()


def test_fronts_are_young_short_lived_and_buy_little(
    world: dict[str, pl.DataFrame], traits: pl.DataFrame
) -> None:
    e = world["entities"].join(
        members(traits, "front_business").select("entity_id"), on="entity_id"
    )
    assert (e["registration_date"].dt.year() >= 2022).all()
    assert e["closure_date"].is_not_null().mean() >= 0.2
    fronts = members(traits, "front_business")
    shops = honest(traits).filter(
        pl.col("sector_code").is_in(fronts["sector_code"].unique().implode())
    )
    revenue_per_head = world["entities"].select(
        "entity_id", (pl.col("declared_revenue") / pl.col("employees")).alias("rpe")
    )
    assert (
        fronts.join(revenue_per_head, on="entity_id")["rpe"].median()
        > 2 * shops.join(revenue_per_head, on="entity_id")["rpe"].median()
    )


def test_unexplained_wealth_exceeds_income_by_the_factor(
    traits: pl.DataFrame, world_params: WorldParams
) -> None:
    g = members(traits, "unexplained_wealth")
    factor = WEALTH_FACTOR * world_params.intensity("unexplained_wealth")
    assert (g["wealth_ratio"] >= factor * 0.97).all()  # asset values are rounded to 100 EUR


def test_wealth_factor_follows_the_intensity_knob(tmp_path: Path) -> None:
    params = WorldParams(
        entities=4_000,
        seed=3,
        typologies={"unexplained_wealth": TypologyParams(prevalence=0.01, intensity=2.0)},
    )
    generate_world(params, tmp_path)
    w = {k: v.collect() for k, v in read_dataset(tmp_path, tables=list(TABLES)).items()}
    g = members(entity_traits(w), "unexplained_wealth")
    assert g.height == 40
    assert (g["wealth_ratio"] >= 2 * WEALTH_FACTOR * 0.97).all()


def test_crypto_launderers_touch_risky_wallets_and_stablecoins(
    world: dict[str, pl.DataFrame], traits: pl.DataFrame
) -> None:
    g = members(traits, "crypto")
    assert (g["tagged_hops"] >= 1).mean() >= 0.8
    flagged = world["transaction_labels"].filter(pl.col("typology") == "crypto")
    coins = (
        world["transactions"]
        .join(flagged, on="txn_id")
        .group_by("entity_id")
        .agg(
            (pl.col("currency_original") == "USDT").any().alias("stable"),
            (pl.col("channel") == "cash").any().alias("cash_in"),
        )
    )
    assert coins["stable"].mean() >= 0.6
    assert coins["cash_in"].mean() >= 0.6


def test_mules_have_many_payers_and_keep_nothing(
    world: dict[str, pl.DataFrame], traits: pl.DataFrame
) -> None:
    g = members(traits, "mule")
    persons = honest(traits).filter(pl.col("entity_type") == "person")
    assert g["payers"].median() >= 5 * max(persons["payers"].median(), 1)
    # what comes in through the scheme leaves again: the mule keeps almost nothing
    flagged = world["transaction_labels"].filter(pl.col("typology") == "mule")
    acc = world["accounts"].select("account_id", "entity_id")
    tx = (
        world["transactions"]
        .join(flagged, on="txn_id")
        .join(
            acc.rename({"entity_id": "owner"}),
            left_on="dst_account_id",
            right_on="account_id",
            how="left",
        )
    )
    incoming = (pl.col("owner") == pl.col("entity_id")).fill_null(False)
    per_mule = tx.group_by("entity_id").agg(
        pl.col("amount").filter(incoming).sum().alias("in"),
        pl.col("amount").filter(~incoming).sum().alias("out"),
    )
    kept = 1 - per_mule["out"] / per_mule["in"]
    assert kept.median() <= 0.1


def test_high_risk_jurisdiction_flows(traits: pl.DataFrame) -> None:
    g, h = members(traits, "high_risk_jurisdiction"), honest(traits)
    assert g["watched_share"].median() >= 0.2
    assert h["watched_share"].median() == 0


def test_layering_groups_move_money_in_cycles(world: dict[str, pl.DataFrame]) -> None:
    labels = (
        world["labels"]
        .filter(pl.col("typologies").cast(pl.List(pl.String)).list.contains("layering"))
        .select("entity_id")
    )
    flagged = world["transaction_labels"].filter(pl.col("typology") == "layering")
    acc = world["accounts"].select("account_id", "entity_id")
    edges = (
        world["transactions"]
        .join(flagged.select("txn_id", "scheme_id"), on="txn_id")
        .join(acc.rename({"entity_id": "src"}), left_on="src_account_id", right_on="account_id")
        .join(acc.rename({"entity_id": "dst"}), left_on="dst_account_id", right_on="account_id")
        .select("scheme_id", "src", "dst")
        .unique()
    )
    edges = edges.join(labels, left_on="src", right_on="entity_id").join(
        labels, left_on="dst", right_on="entity_id"
    )
    with_cycle = 0
    groups = edges.partition_by("scheme_id")
    for group in groups:
        graph: dict[str, set[str]] = {}
        for s, d in group.select("src", "dst").iter_rows():
            graph.setdefault(s, set()).add(d)
        with_cycle += _has_cycle(graph, min_length=3)
    assert len(groups) >= 10
    assert with_cycle / len(groups) >= 0.7


def _has_cycle(graph: dict[str, set[str]], min_length: int) -> bool:
    """True when the directed graph has a simple cycle of at least ``min_length`` nodes."""

    def walk(start: str, node: str, path: list[str]) -> bool:
        for nxt in graph.get(node, ()):
            if nxt == start and len(path) >= min_length:
                return True
            if nxt not in path and walk(start, nxt, [*path, nxt]):
                return True
        return False

    return any(walk(n, n, [n]) for n in graph)


def test_multi_declarant_members_are_reported_by_several(traits: pl.DataFrame) -> None:
    g = members(traits, "multi_declarant")
    assert (g["declarants"] >= 3).all()


@pytest.mark.parametrize("typology", list(OBVIOUS_TRAIT))
def test_honest_look_alikes_share_the_obvious_trait(traits: pl.DataFrame, typology: str) -> None:
    """Honest entities reach the typical guilty value of each typology's obvious trait, so the
    best single-threshold rule on it is far from a perfect separator."""
    trait = OBVIOUS_TRAIT[typology]
    g, h = members(traits, typology), honest(traits)
    if typology == "front_business":
        h = h.filter(pl.col("entity_type") == "company")
    look_alikes = int((h[trait] >= g[trait].quantile(0.25)).sum())
    assert look_alikes >= 3, f"{typology}: only {look_alikes} honest entities share {trait}"
    assert best_threshold_f1(traits, typology, trait) < 0.85
