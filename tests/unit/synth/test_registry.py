"""The typology registry: one entry per typology name, pinned stream ids, and worlds that stay
byte-identical when a typology is added."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from flowrisk.schema import TYPOLOGIES
from flowrisk.synth import (
    DEFAULT_TYPOLOGIES,
    REGISTRY,
    Typology,
    TypologyParams,
    TypologyRegistry,
    WorldParams,
    generate_world,
    iter_transactions,
    plan_world,
)
from flowrisk.synth.typologies.base import active_events, in_chunk, new_plan, select_members
from flowrisk.synth.world import AccountBook, SchemePlan, Txns, World

# Stream ids are part of every world's identity: they never change and are never reused.
PINNED = {
    "structuring": 0,
    "front_business": 1,
    "unexplained_wealth": 2,
    "crypto": 3,
    "mule": 4,
    "high_risk_jurisdiction": 5,
    "layering": 6,
    "multi_declarant": 7,
    "fan_in": 8,
    "fan_out": 9,
    "cycle": 10,
    "scatter_gather": 11,
    "gather_scatter": 12,
    "bipartite": 13,
    "stacked_bipartite": 14,
    "random_walk": 15,
}
# The typologies of the pinned world, spelled out so that a new typology (or new defaults)
# leaves it unchanged.
EIGHT = {
    "structuring": TypologyParams(0.006),
    "front_business": TypologyParams(0.004),
    "unexplained_wealth": TypologyParams(0.004),
    "crypto": TypologyParams(0.003),
    "mule": TypologyParams(0.005),
    "high_risk_jurisdiction": TypologyParams(0.003),
    "layering": TypologyParams(0.004),
    "multi_declarant": TypologyParams(0.002),
}
# sha256 of the files of WorldParams(entities=300, months=2, seed=3, typologies=EIGHT). Labels
# are left out: their typology enum grows with the vocabulary. Generator 1.3.0 (family loans,
# flatmates' rent shares) changed the transactions.
PINNED_FILES = {
    "accounts.parquet": "a02f0a1362e19d41bc762b5738e5903b55df42f784fc70c46d254e8106d492fc",
    "assets.parquet": "00fd5deaa8f2112f2defdcaaaeb43656de15c48adeca955b71f7394b922c8821",
    "entities.parquet": "d5200c20e0125a124980f0b9d83176076cbb68711a34bd5cf8518b2ef4b392c5",
    "ownership.parquet": "f6ad48d5737e9bffc6421d55d7e61f1bbfe42b3a7aead4f8054ff486c9cf2ce2",
    "reports.parquet": "9c543b26fbde79fd650b4684e28edc2306b97d4932f8054bcc7cdf38ae5deb3b",
    "transactions.parquet": "69d0752adf1f508d3368ee7b022b162bad6946534507aef46466d67ac7f0a537",
}
NEWCOMER = "newcomer"


def test_registry_covers_the_vocabulary_exactly() -> None:
    assert sorted(t.name for t in REGISTRY) == sorted(TYPOLOGIES)
    REGISTRY.check_covers(TYPOLOGIES)
    with pytest.raises(ValueError, match="missing"):
        REGISTRY.check_covers([*TYPOLOGIES, NEWCOMER])
    assert set(DEFAULT_TYPOLOGIES) == set(TYPOLOGIES)
    assert WorldParams().typologies == DEFAULT_TYPOLOGIES


def test_stream_ids_are_pinned() -> None:
    assert {t.name: t.stream for t in REGISTRY} == PINNED
    for name, stream in PINNED.items():
        assert REGISTRY.name_of(stream) == name


def test_registry_refuses_a_reused_name_or_stream() -> None:
    first = REGISTRY["mule"]
    with pytest.raises(ValueError, match="stream id"):
        TypologyRegistry(
            [*REGISTRY, Typology(NEWCOMER, first.stream, first.plan, first.inject, first.defaults)]
        )
    with pytest.raises(ValueError, match="name"):
        TypologyRegistry(
            [*REGISTRY, Typology("mule", 99, first.plan, first.inject, first.defaults)]
        )
    with pytest.raises(ValueError, match=r"0\.\.127"):
        TypologyRegistry([Typology(NEWCOMER, 128, first.plan, first.inject, first.defaults)])


def test_a_small_world_keeps_its_pinned_bytes(tmp_path: Path) -> None:
    generate_world(WorldParams(entities=300, months=2, seed=3, typologies=EIGHT), tmp_path)
    got = {n: hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in PINNED_FILES}
    assert got == PINNED_FILES


def _plan_newcomer(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    members = select_members(rng, ~world.is_company, k, guilty)
    return new_plan(rng, world, members, np.arange(len(members)))


def _inject_newcomer(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    row, _, ts = active_events(rng, world, plan, in_chunk(plan, lo, hi), 2.0)
    e = plan.entity[row]
    amount = rng.uniform(100, 900, len(e))
    return [
        Txns.make(-1, world.acc_primary[e], ts, amount, "cash", entity=e, scheme=plan.scheme[row])
    ]


def _newcomer() -> Typology:
    """A typology the registry does not hold yet, with the next unused stream id."""
    stream = max(t.stream for t in REGISTRY) + 1
    return Typology(NEWCOMER, stream, _plan_newcomer, _inject_newcomer, TypologyParams(0.01))


@pytest.fixture
def with_newcomer(monkeypatch: pytest.MonkeyPatch) -> WorldParams:
    """Parameters of a world where the newcomer typology is injected too."""
    monkeypatch.setattr("flowrisk.synth.params.TYPOLOGIES", (*TYPOLOGIES, NEWCOMER))
    return WorldParams(
        entities=1_500,
        months=3,
        seed=12,
        chunk_entities=1_000,
        typologies={**EIGHT, NEWCOMER: TypologyParams(0.01)},
    )


def _recording(registry: TypologyRegistry, seen: dict[tuple[str, int], object]) -> TypologyRegistry:
    """The same typologies, noting the state of the stream each planner and injector is given."""

    def wrap(t: Typology) -> Typology:
        def plan(rng: np.random.Generator, *args: object) -> SchemePlan:
            seen[(t.name, -1)] = rng.bit_generator.state
            return t.plan(rng, *args)  # type: ignore[arg-type]

        def inject(
            rng: np.random.Generator, world: World, p: SchemePlan, lo: int, hi: int
        ) -> list[Txns]:
            seen[(t.name, lo)] = rng.bit_generator.state
            return t.inject(rng, world, p, lo, hi)

        return Typology(t.name, t.stream, plan, inject, t.defaults)

    return TypologyRegistry(wrap(t) for t in registry)


def test_streams_follow_the_pinned_id_whatever_the_registry_order(
    with_newcomer: WorldParams,
) -> None:
    """A new entry, placed first and with the order of the others reversed, gives every existing
    planner and injector the very stream it had."""
    base: dict[tuple[str, int], object] = {}
    moved: dict[tuple[str, int], object] = {}
    params = with_newcomer
    plain = _recording(REGISTRY, base)
    world = plan_world(params, registry=plain)
    for _ in iter_transactions(world, registry=plain):
        pass
    shuffled = _recording(TypologyRegistry([_newcomer(), *reversed(REGISTRY.entries)]), moved)
    world = plan_world(params, registry=shuffled)
    for _ in iter_transactions(world, registry=shuffled):
        pass
    assert {k for k in moved if k[0] != NEWCOMER} == set(base)
    assert len(base) == len(EIGHT) * 3  # one planner and two chunks per typology
    for key, state in base.items():
        assert moved[key] == state, key


def test_a_typology_added_at_the_end_changes_no_existing_draw(
    with_newcomer: WorldParams,
) -> None:
    """Appended with a new stream id, a typology adds its own members and transactions; every
    other plan and transaction is what it was without it."""
    before = plan_world(with_newcomer)
    grown = TypologyRegistry([*REGISTRY, _newcomer()])
    after = plan_world(with_newcomer, registry=grown)
    assert set(after.schemes) == {*before.schemes, NEWCOMER}
    for name, plan in before.schemes.items():
        for field in ("entity", "scheme", "start_s", "role"):
            assert np.array_equal(getattr(after.schemes[name], field), getattr(plan, field))
    old_chunks = list(iter_transactions(before))
    new_chunks = list(iter_transactions(after, registry=grown))
    newcomer = grown[NEWCOMER].stream
    added = 0
    for old, new in zip(old_chunks, new_chunks, strict=True):
        mine = new.txns.typology == newcomer
        added += int(mine.sum())
        rest = new.txns.take(~mine)
        for field in ("src", "dst", "ts", "amount", "channel", "typology", "scheme", "entity"):
            assert np.array_equal(getattr(rest, field), getattr(old.txns, field)), field
    assert added > 0
