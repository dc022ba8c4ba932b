"""The short-window typologies: each group repeats its pattern over an active life that the
labels date, its shape holds, its amounts look like honest transfers, and its members keep
ordinary lives beside."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl
import pytest

from flowrisk.io import read_dataset
from flowrisk.reference import thresholds
from flowrisk.schema import SHORT_WINDOW_TYPOLOGIES, TABLES
from flowrisk.synth import WorldParams, generate_world
from flowrisk.synth.typologies.short_window import LIFE_DAYS
from flowrisk.synth.typologies.short_window import SHAPES as PATTERNS

Edges = list[tuple[str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """A full world with every short-window typology more common than by default."""
    params = WorldParams(entities=8_000, seed=11, chunk_entities=4_000).with_overrides(
        prevalence=dict.fromkeys(SHORT_WINDOW_TYPOLOGIES, 0.005)
    )
    out = tmp_path_factory.mktemp("short_window_world")
    generate_world(params, out)
    return {name: frame.collect() for name, frame in read_dataset(out, tables=list(TABLES)).items()}


@pytest.fixture(scope="module")
def scheme_legs(world: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Every short-window transaction of that world with its typology and scheme."""
    return (
        world["transaction_labels"]
        .filter(pl.col("typology").cast(pl.String).is_in(SHORT_WINDOW_TYPOLOGIES))
        .join(world["transactions"], on="txn_id")
        .with_columns(pl.col("typology").cast(pl.String))
        .sort("ts", "txn_id")
    )


def _schemes(legs: pl.DataFrame, typology: str) -> list[pl.DataFrame]:
    rows = legs.filter(pl.col("typology") == typology)
    return rows.partition_by("scheme_id", maintain_order=True)


def _edges(scheme: pl.DataFrame) -> Edges:
    return list(zip(scheme["src_account_id"], scheme["dst_account_id"], strict=True))


def _roles(edges: Edges) -> tuple[set[str], set[str], set[str]]:
    """Accounts that only send, that send and receive, that only receive."""
    src, dst = {s for s, _ in edges}, {d for _, d in edges}
    return src - dst, src & dst, dst - src


def _members(world: dict[str, pl.DataFrame], scheme: pl.DataFrame) -> pl.DataFrame:
    """The labels of the account holders a scheme's transactions touch."""
    accounts = set(scheme["src_account_id"]) | set(scheme["dst_account_id"])
    holders = world["accounts"].filter(pl.col("account_id").is_in(list(accounts)))["entity_id"]
    return world["labels"].filter(pl.col("entity_id").is_in(holders.implode()))


@pytest.mark.parametrize("typology", SHORT_WINDOW_TYPOLOGIES)
def test_every_scheme_repeats_its_pattern_over_its_life(
    world: dict[str, pl.DataFrame], scheme_legs: pl.DataFrame, typology: str
) -> None:
    """Whole plays only (the legs are a multiple of one play's), several of them over weeks to
    months, every leg an account-to-account transfer."""
    schemes = _schemes(scheme_legs, typology)
    assert len(schemes) >= 2, f"{typology}: {len(schemes)} schemes in the world"
    repeated = 0
    for scheme in schemes:
        members = _members(world, scheme)
        per_play = len(PATTERNS[typology](np.random.default_rng(0), members.height))
        assert scheme.height % per_play == 0, (typology, scheme.height, per_play)
        plays = scheme.height // per_play
        span = scheme["ts"].max() - scheme["ts"].min()
        repeated += plays >= 3 and span.days >= 14
        assert set(scheme["channel"].cast(pl.String)) <= {"wire", "instant"}
        assert scheme["src_account_id"].null_count() == scheme["dst_account_id"].null_count() == 0
    assert repeated >= 0.6 * len(schemes), (typology, repeated, len(schemes))


@pytest.mark.parametrize("typology", SHORT_WINDOW_TYPOLOGIES)
def test_labels_date_the_members_active_life(
    world: dict[str, pl.DataFrame], scheme_legs: pl.DataFrame, typology: str
) -> None:
    """Every leg falls between its members' label_date and label_end (null: active at the end
    of the period); a life that ended lasted at least the shortest life."""
    period_end = world["transactions"]["ts"].max().date()
    for scheme in _schemes(scheme_legs, typology):
        members = _members(world, scheme)
        assert members["label"].min() == 1
        assert members["label_date"].n_unique() == 1 and members["label_end"].n_unique() == 1
        start, end = members["label_date"][0], members["label_end"][0] or period_end
        assert start <= scheme["ts"].min().date() and scheme["ts"].max().date() <= end
        if members["label_end"][0] is not None:
            assert (end - start).days >= LIFE_DAYS[0] - 1, (typology, start, end)


def _check_fan_in(edges: Edges) -> None:
    senders, _, receivers = _roles(edges)
    assert len(receivers) == 1 and len(senders) >= 3


def _check_fan_out(edges: Edges) -> None:
    senders, _, receivers = _roles(edges)
    assert len(senders) == 1 and len(receivers) >= 3


def _check_cycle(edges: Edges) -> None:
    senders, middle, receivers = _roles(edges)
    assert not senders and not receivers and len(middle) >= 3
    out_degree = defaultdict(set)
    for s, d in edges:
        out_degree[s].add(d)
    assert all(len(v) == 1 for v in out_degree.values())  # a ring: one successor each
    assert edges[-1][1] == edges[0][0]  # back to the origin


def _check_random_walk(edges: Edges) -> None:
    senders, middle, receivers = _roles(edges)
    assert len(senders) == 1 and len(receivers) == 1 and len(middle) >= 2
    assert edges[0][0] in senders  # the walk starts at its origin and never comes back


def _check_scatter_gather(edges: Edges) -> None:
    senders, middle, receivers = _roles(edges)
    assert len(senders) == 1 and len(receivers) == 1 and len(middle) >= 2
    source, sink = next(iter(senders)), next(iter(receivers))
    assert {(source, m) for m in middle} | {(m, sink) for m in middle} == set(edges)


def _check_gather_scatter(edges: Edges) -> None:
    senders, middle, receivers = _roles(edges)
    assert len(middle) == 1 and len(senders) >= 2 and len(receivers) >= 2
    hub = next(iter(middle))
    assert {(s, hub) for s in senders} | {(hub, r) for r in receivers} == set(edges)


def _check_bipartite(edges: Edges) -> None:
    senders, middle, receivers = _roles(edges)
    assert not middle and len(senders) >= 2 and len(receivers) >= 2
    assert {(s, r) for s in senders for r in receivers} == set(edges)


def _check_stacked_bipartite(edges: Edges) -> None:
    senders, middle, receivers = _roles(edges)
    assert senders and middle and receivers
    complete = {(s, m) for s in senders for m in middle} | {
        (m, r) for m in middle for r in receivers
    }
    assert complete == set(edges)


SHAPES = {
    "fan_in": _check_fan_in,
    "fan_out": _check_fan_out,
    "cycle": _check_cycle,
    "random_walk": _check_random_walk,
    "scatter_gather": _check_scatter_gather,
    "gather_scatter": _check_gather_scatter,
    "bipartite": _check_bipartite,
    "stacked_bipartite": _check_stacked_bipartite,
}


@pytest.mark.parametrize("typology", SHORT_WINDOW_TYPOLOGIES)
def test_the_pattern_keeps_its_shape(scheme_legs: pl.DataFrame, typology: str) -> None:
    for scheme in _schemes(scheme_legs, typology):
        SHAPES[typology](_edges(scheme))


def test_a_cycle_returns_most_of_the_money_to_its_origin(scheme_legs: pl.DataFrame) -> None:
    for scheme in _schemes(scheme_legs, "cycle"):
        origin = scheme["src_account_id"][0]
        sent = scheme.filter(pl.col("src_account_id") == origin)["amount"].sum()
        back = scheme.filter(pl.col("dst_account_id") == origin)["amount"].sum()
        assert 0.6 * sent <= back < sent


@pytest.mark.parametrize("typology", SHORT_WINDOW_TYPOLOGIES)
def test_amounts_look_like_honest_transfers(
    world: dict[str, pl.DataFrame], scheme_legs: pl.DataFrame, typology: str
) -> None:
    """Within the honest range of transfers between accounts, never whole hundreds, never just
    under a reporting threshold."""
    t = thresholds()
    honest = world["transactions"].join(world["transaction_labels"], on="txn_id", how="anti")
    transfers = honest.filter(
        pl.col("channel").cast(pl.String).is_in(["wire", "instant"])
        & pl.col("src_account_id").is_not_null()
        & pl.col("dst_account_id").is_not_null()
    )["amount"]
    low, high = transfers.quantile(0.01), transfers.quantile(0.99)
    amounts = scheme_legs.filter(pl.col("typology") == typology)["amount"]
    assert low <= amounts.min() and amounts.max() <= high, (typology, amounts.describe())
    assert not (amounts % t.round_amount_multiple == 0).any()
    for limit in (t.cosi_cash_monthly, t.remittance_cash_per_operation, t.remittance_cash_monthly):
        near = (amounts >= t.near_threshold_fraction * limit) & (amounts < limit)
        assert not near.any(), (typology, limit)


def test_members_are_ordinary_account_holders_with_lives_beside(
    world: dict[str, pl.DataFrame], scheme_legs: pl.DataFrame
) -> None:
    labels = world["labels"].explode("typologies").drop_nulls("typologies")
    members = labels.filter(pl.col("typologies").cast(pl.String).is_in(SHORT_WINDOW_TYPOLOGIES))
    accounts = world["accounts"].filter(pl.col("entity_id").is_in(members["entity_id"].implode()))
    used = set(scheme_legs["src_account_id"]) | set(scheme_legs["dst_account_id"])
    assert used <= set(accounts["account_id"])
    assert set(accounts.filter(pl.col("account_id").is_in(list(used)))["account_type"]) <= {
        "current",
        "business",
    }
    honest = world["transactions"].join(world["transaction_labels"], on="txn_id", how="anti")
    active = set(honest["src_account_id"].drop_nulls()) | set(honest["dst_account_id"].drop_nulls())
    assert len(used & active) >= 0.9 * len(used)  # they keep their ordinary lives
