"""The generated world: every table, conforming, consistent, at the requested prevalence,
byte-identical for the same seed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowrisk.io import read_manifest
from flowrisk.schema import TABLES
from flowrisk.synth import REGISTRY, WorldParams, generate_world, iter_transactions, plan_world


def test_every_table_is_written_and_conforms(
    world_dir: Path, world: dict[str, pl.DataFrame]
) -> None:
    for name, spec in TABLES.items():
        raw = pl.read_parquet(world_dir / f"{name}.parquet")
        assert raw.schema == spec.schema, name
        assert raw.height > 0, name
        assert raw.select(spec.key).is_unique().all(), f"{name} key not unique"
        for column in spec.required_columns:
            if name == "transactions" and column in ("src_account_id", "dst_account_id"):
                continue  # null = cash
            if name == "accounts" and column == "entity_id":
                continue  # null = external counterparty
            assert raw[column].null_count() == 0, f"{name}.{column}"


def test_manifest_matches_files(
    world_dir: Path, world: dict[str, pl.DataFrame], world_params: WorldParams
) -> None:
    manifest = read_manifest(world_dir)
    for name, frame in world.items():
        assert manifest["rows"][name] == frame.height
    assert manifest["seed"] == world_params.seed
    assert manifest["parameters"]["entities"] == world_params.entities
    assert manifest["generator_version"]
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((world_dir / name).read_bytes()).hexdigest() == digest


def test_references_resolve(world: dict[str, pl.DataFrame]) -> None:
    entities = world["entities"]["entity_id"].implode()
    accounts = world["accounts"]
    tx = world["transactions"]
    account_ids = accounts["account_id"].implode()
    for side in ("src_account_id", "dst_account_id"):
        used = tx[side].drop_nulls()
        assert used.is_in(account_ids).all(), side
    assert (
        tx.filter(pl.col("src_account_id").is_null() & pl.col("dst_account_id").is_null()).height
        == 0
    )
    assert accounts["entity_id"].drop_nulls().is_in(entities).all()
    for table, cols in (
        ("assets", ["entity_id"]),
        ("reports", ["entity_id"]),
        ("labels", ["entity_id"]),
        ("ownership", ["owner_entity_id", "owned_entity_id"]),
    ):
        for c in cols:
            assert world[table][c].is_in(entities).all(), f"{table}.{c}"
    flagged = world["transaction_labels"]
    assert flagged["txn_id"].is_in(tx["txn_id"].implode()).all()


def test_values_are_sane(world: dict[str, pl.DataFrame]) -> None:
    tx = world["transactions"]
    assert (tx["amount"] > 0).all() and tx["amount"].is_finite().all()
    assert (tx["ts"].dt.year() == 2025).all()
    cash = tx.filter(pl.col("channel") == "cash")
    assert (cash["src_account_id"].is_null() | cash["dst_account_id"].is_null()).all()
    e = world["entities"]
    persons = e.filter(pl.col("entity_type") == "person")
    companies = e.filter(pl.col("entity_type") == "company")
    assert persons["declared_income"].null_count() == 0
    assert persons["birth_year"].is_between(1920, 2010).all()
    assert companies["sector_code"].null_count() == 0
    assert companies["declared_revenue"].null_count() == 0
    assert (companies["registration_date"].dt.year() < 2025).all()
    closed = companies.filter(pl.col("closure_date").is_not_null())
    assert (closed["closure_date"] > closed["registration_date"]).all()


def test_closed_companies_stop_trading(world: dict[str, pl.DataFrame]) -> None:
    closed = world["entities"].filter(pl.col("closure_date").is_not_null())
    assert closed.height > 0
    acc = world["accounts"].join(closed.select("entity_id", "closure_date"), on="entity_id")
    tx = world["transactions"]
    for side in ("src_account_id", "dst_account_id"):
        late = tx.join(acc, left_on=side, right_on="account_id").filter(
            pl.col("ts").dt.date() >= pl.col("closure_date")
        )
        assert late.height == 0, side


def test_prevalence_per_typology(world: dict[str, pl.DataFrame], world_params: WorldParams) -> None:
    labels = world["labels"]
    n = labels.height
    assert labels["label"].sum() == labels.filter(pl.col("typologies").list.len() > 0).height
    counts = dict(
        labels.explode("typologies")
        .drop_nulls("typologies")
        .group_by("typologies")
        .len()
        .iter_rows()
    )
    for name, tp in world_params.typologies.items():
        observed = counts.get(name, 0) / n
        assert abs(observed - tp.prevalence) <= 0.1 * tp.prevalence, (name, observed)
    # a guilty entity can carry more than one typology
    assert labels["typologies"].list.len().max() >= 2
    assert labels.filter(pl.col("label") == 1)["label_date"].null_count() == 0


def test_ground_truth_transactions_match_labels(
    world: dict[str, pl.DataFrame], world_params: WorldParams
) -> None:
    flagged = world["transaction_labels"]
    labels = world["labels"].explode("typologies").drop_nulls("typologies")
    pairs = flagged.select("entity_id", pl.col("typology").alias("typologies")).unique()
    missing = pairs.join(labels, on=["entity_id", "typologies"], how="anti")
    assert missing.height == 0, missing.head()
    carried = {name for name, tp in world_params.typologies.items() if tp.prevalence > 0}
    assert set(flagged["typology"].unique().cast(pl.String)) == carried


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    params = WorldParams(entities=3_000, seed=9, chunk_entities=1_000)
    digests = []
    for run in ("a", "b"):
        generate_world(params, tmp_path / run)
        digests.append(
            {
                p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted((tmp_path / run).iterdir())
            }
        )
    assert digests[0] == digests[1]
    assert len(digests[0]) == len(TABLES) + 1  # tables + manifest
    generate_world(WorldParams(entities=3_000, seed=10, chunk_entities=1_000), tmp_path / "c")
    other = hashlib.sha256((tmp_path / "c" / "transactions.parquet").read_bytes()).hexdigest()
    assert other != digests[0]["transactions.parquet"]


def test_without_camouflage_the_guilty_only_launder() -> None:
    params = WorldParams(entities=2_000, seed=4, camouflage=False)
    world = plan_world(params)
    guilty = np.zeros(world.n_entities, dtype=bool)
    for plan in world.schemes.values():
        guilty[plan.entity] = True
    holder = world.accounts["entity"]
    for chunk in iter_transactions(world):
        t = chunk.txns
        ordinary = t.typology < 0
        for side in (t.src[ordinary], t.dst[ordinary]):
            who = holder[side[side >= 0]]
            assert not guilty[who[who >= 0]].any()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entities=st.integers(200, 3_000),
    months=st.integers(1, 14),
    seed=st.integers(0, 2**31),
    company_share=st.floats(0.02, 0.4),
)
def test_any_world_keeps_its_invariants(
    entities: int, months: int, seed: int, company_share: float
) -> None:
    """Whatever the size, period and seed: transactions inside the period, positive amounts,
    known accounts, and flagged transactions only for labelled members."""
    params = WorldParams(entities=entities, months=months, seed=seed, company_share=company_share)
    world = plan_world(params)
    n_acc = len(world.accounts["entity"])
    members = {name: set(plan.entity.tolist()) for name, plan in world.schemes.items()}
    for chunk in iter_transactions(world):
        t = chunk.txns
        assert ((t.ts >= world.start_s) & (t.ts < world.end_s)).all()
        assert (t.amount > 0).all() and np.isfinite(t.amount).all()
        assert ((t.src >= -1) & (t.src < n_acc) & (t.dst >= -1) & (t.dst < n_acc)).all()
        assert ((t.src >= 0) | (t.dst >= 0)).all()
        for code in np.unique(t.typology[t.typology >= 0]):
            who = set(t.entity[t.typology == code].tolist())
            assert who <= members[REGISTRY.name_of(code)]


@pytest.mark.parametrize("entities", [100, 101])
def test_tiny_worlds_still_generate(tmp_path: Path, entities: int) -> None:
    manifest = generate_world(WorldParams(entities=entities, seed=1), tmp_path)
    assert manifest["rows"]["entities"] == entities


def test_account_types_follow_their_holders(world: dict[str, pl.DataFrame]) -> None:
    acc = world["accounts"].join(
        world["entities"].select("entity_id", "entity_type"), on="entity_id", how="left"
    )
    banks = acc.filter(pl.col("account_type").is_in(["current", "business", "savings"]))
    assert banks.filter(pl.col("entity_type") == "company")["account_type"].eq("business").all()
    assert not banks.filter(pl.col("entity_type") == "person")["account_type"].eq("business").any()
    external = acc.filter(pl.col("entity_id").is_null())
    assert external["account_type"].is_in(["external", "crypto_wallet", "crypto_exchange"]).all()
    tagged = acc.filter(pl.col("risk_tags").list.len() > 0)
    assert set(tagged["risk_tags"].explode().cast(pl.String)) == {
        "mixer",
        "darknet",
        "sanctioned",
        "gambling",
        "high_risk_exchange",
    }
