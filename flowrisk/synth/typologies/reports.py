"""Reports received about entities: multi-declarant convergence, ordinary suspicion, cash reports.

Declarants are the institutions holding the entity's accounts plus notaries, car dealers and
casinos. Honest entities are reported too (false suspicions, systematic cash reports of busy
shops), so a report alone never proves guilt.
"""

from __future__ import annotations

import numpy as np

from flowrisk.reference import thresholds
from flowrisk.schema import REPORT_CATEGORIES
from flowrisk.synth.institutions import BANKS, INSTITUTION, N_BRANCHES, pick_bank
from flowrisk.synth.typologies.base import (
    active_events,
    in_chunk,
    new_plan,
    pick,
    select_members,
)
from flowrisk.synth.world import (
    COUNTRY,
    DAY,
    AccountBook,
    SchemePlan,
    Txns,
    World,
    bank_account_type,
    day_of,
)

__all__ = [
    "PROFESSIONS",
    "Reports",
    "cash_reports",
    "inject_multi_declarant",
    "plan_multi_declarant",
    "plan_reports",
]

CATEGORY = {name: i for i, name in enumerate(REPORT_CATEGORIES)}
PROFESSIONS = (
    *(f"NOTARY-{i:02d}" for i in range(1, 6)),
    *(f"DEALER-{i:02d}" for i in range(1, 6)),
    "CASINO-01",
    "CASINO-02",
)

# categories of the bank's report on a guilty entity, and of reports on busy honest lives
GUILTY_CATEGORIES = ("suspicious_activity", "cash_threshold", "crypto_activity", "asset_purchase")
BUSY_CATEGORIES = ("suspicious_activity", "cash_threshold", "asset_purchase")

Reports = dict[str, np.ndarray]  # entity, declarant (index into institutions + PROFESSIONS),
# ts (seconds), category


def plan_multi_declarant(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Entities with accounts at several banks, each of which ends up reporting them."""
    members = select_members(rng, np.ones(world.n_entities, dtype=bool), k, guilty, overlap=0.35)
    n = len(members)
    plan = new_plan(rng, world, members, np.arange(n))
    start_day = day_of(world.params.start)
    # two more banks, different from the member's own bank and from each other
    own = book.institution_of(world.acc_primary[members]).astype(np.int64)
    n_banks = len(BANKS)
    r1 = rng.integers(0, n_banks - 1, n)
    r2 = (r1 + 1 + rng.integers(0, n_banks - 2, n)) % (n_banks - 1)
    first = INSTITUTION[BANKS[0]]
    banks = first + (own[:, None] - first + 1 + np.column_stack([r1, r2])) % n_banks
    holders = np.repeat(members, 2)
    extra = book.add(
        holders,
        bank_account_type(world.is_company[holders]),
        banks.ravel(),
        COUNTRY["FR"],
        start_day - rng.integers(30, 900, 2 * n),
    )
    plan.extra["accounts"] = extra.reshape(n, 2)
    plan.extra["banks"] = book.institution[-1].reshape(n, 2)
    return plan


def inject_multi_declarant(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Money shuffled between the member's banks, cash paid in at several, some sent abroad."""
    k = world.params.intensity("multi_declarant")
    rows = in_chunk(plan, lo, hi)
    row, _, ts = active_events(rng, world, plan, rows, np.clip(2.0 * k, 0.5, 8.0))
    e = plan.entity[row]
    n = len(row)
    accs = np.column_stack([world.acc_primary[e], plan.extra["accounts"][row]])
    a = accs[np.arange(n), rng.integers(0, 3, n)]
    b = accs[np.arange(n), rng.integers(0, 3, n)]
    amount = rng.uniform(1_000, 8_000, n)
    u = rng.random(n)
    out = [
        Txns.make(
            -1,
            a[u < 0.4],
            ts[u < 0.4],
            amount[u < 0.4],
            "cash",
            branch=rng.integers(0, N_BRANCHES, int((u < 0.4).sum())),
            entity=e[u < 0.4],
            scheme=plan.scheme[row][u < 0.4],
        ),
    ]
    mid = (u >= 0.4) & (u < 0.8) & (a != b)
    out.append(
        Txns.make(
            a[mid],
            b[mid],
            ts[mid],
            amount[mid],
            "instant",
            entity=e[mid],
            scheme=plan.scheme[row][mid],
        )
    )
    far = u >= 0.8
    out.append(
        Txns.make(
            a[far],
            pick(rng, world.pools["foreign_risky_partner"], int(far.sum())),
            ts[far],
            amount[far] * 2,
            "wire",
            entity=e[far],
            scheme=plan.scheme[row][far],
        )
    )
    return out


Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # entity, declarant, ts, category


def _own_bank(world: World, ent: np.ndarray) -> np.ndarray:
    """The institution of each entity's main account."""
    return world.accounts["institution"][world.acc_primary[ent]].astype(np.int64)


def _professions(rng: np.random.Generator, world: World, n: int) -> np.ndarray:
    """Declarant codes of ``n`` notaries, dealers or casinos, drawn at random."""
    return len(world.institutions) + rng.integers(0, len(PROFESSIONS), n)


def _anytime(rng: np.random.Generator, world: World, n: int) -> np.ndarray:
    """``n`` times drawn uniformly over the period."""
    span = world.end_s - world.start_s
    return (world.start_s + rng.random(n) * span).astype(np.int64)


def _convergence(rng: np.random.Generator, world: World, multi: SchemePlan) -> Part:
    """3-6 suspicious-activity reports per multi-declarant member: its three banks first, then
    professions, after the scheme starts."""
    m = len(multi.entity)
    n_rep = rng.integers(3, 7, m)
    row = np.repeat(np.arange(m), n_rep)
    slot = np.concatenate([np.arange(c) for c in n_rep])
    banks = np.column_stack([_own_bank(world, multi.entity), multi.extra["banks"]])
    banks = banks.astype(np.int64)
    declarant = np.where(
        slot < 3, banks[row, np.minimum(slot, 2)], _professions(rng, world, len(row))
    )
    ts = multi.start_s[row] + (rng.random(len(row)) * (world.end_s - multi.start_s[row]))
    category = np.full(len(row), CATEGORY["suspicious_activity"])
    return multi.entity[row], declarant, ts.astype(np.int64), category


def _on_the_guilty(rng: np.random.Generator, world: World, guilty: np.ndarray) -> list[Part]:
    """A third of the guilty are reported once by their bank after their first scheme starts;
    a few by a profession at any time."""
    first_start = np.full(world.n_entities, world.end_s, dtype=np.int64)
    for plan in world.schemes.values():
        np.minimum.at(first_start, plan.entity, plan.start_s)
    g = np.flatnonzero(guilty)
    once = g[rng.random(len(g)) < 0.3]
    ts = first_start[once] + (rng.random(len(once)) * (world.end_s - first_start[once]))
    kinds = [CATEGORY[c] for c in GUILTY_CATEGORIES]
    category = rng.choice(kinds, len(once), p=[0.7, 0.1, 0.1, 0.1])
    by_bank = (once, _own_bank(world, once), ts.astype(np.int64), category)
    twice = g[rng.random(len(g)) < 0.06]
    n = len(twice)
    by_profession = (
        twice,
        _professions(rng, world, n),
        _anytime(rng, world, n),
        np.full(n, CATEGORY["suspicious_activity"]),
    )
    return [by_bank, by_profession]


def _on_the_honest(rng: np.random.Generator, world: World, honest: np.ndarray) -> list[Part]:
    """Honest convergence (lawful but unusual lives draw reports from several declarants: a
    house sold, an inheritance, a busy shop banking in several places) and false suspicions."""
    busy = honest[rng.random(len(honest)) < 0.003]
    n_rep = rng.integers(2, 5, len(busy))
    row = np.repeat(np.arange(len(busy)), n_rep)
    slot = np.concatenate([np.arange(c) for c in n_rep]) if len(busy) else row
    declarant = np.select(
        [slot == 0, slot == 1],
        [_own_bank(world, busy[row]), pick_bank(rng, len(row)).astype(np.int64)],
        _professions(rng, world, len(row)),
    )
    kinds = [CATEGORY[c] for c in BUSY_CATEGORIES]
    converging = (
        busy[row],
        declarant.astype(np.int64),
        _anytime(rng, world, len(row)),
        rng.choice(kinds, len(row), p=[0.6, 0.2, 0.2]),
    )
    noise = honest[rng.random(len(honest)) < 0.012]
    n = len(noise)
    false_suspicion = (
        noise,
        _own_bank(world, noise),
        _anytime(rng, world, n),
        rng.choice(len(REPORT_CATEGORIES), n),
    )
    second = noise[rng.random(n) < 0.15]
    n = len(second)
    seconded = (
        second,
        _professions(rng, world, n),
        _anytime(rng, world, n),
        np.full(n, CATEGORY["suspicious_activity"]),
    )
    return [converging, false_suspicion, seconded]


def plan_reports(rng: np.random.Generator, world: World) -> Reports:
    """Reports filed during the period: convergence on multi-declarant members, occasional
    reports on other guilty entities, and false suspicions on honest ones."""
    parts: list[Part] = []
    multi = world.schemes.get("multi_declarant")
    if multi is not None and len(multi.entity):
        parts.append(_convergence(rng, world, multi))
    guilty = np.zeros(world.n_entities, dtype=bool)
    for plan in world.schemes.values():
        guilty[plan.entity] = True
    parts += _on_the_guilty(rng, world, guilty)
    parts += _on_the_honest(rng, world, np.flatnonzero(~guilty))
    return {
        "entity": np.concatenate([p[0] for p in parts]).astype(np.int64),
        "declarant": np.concatenate([p[1] for p in parts]).astype(np.int64),
        "ts": np.minimum(np.concatenate([p[2] for p in parts]), world.end_s - 1),
        "category": np.concatenate([p[3] for p in parts]).astype(np.int8),
    }


def cash_reports(world: World, txns: Txns) -> Reports:
    """Systematic cash reports (COSI): an account whose cash in or out over a calendar month
    exceeds the threshold is reported by its institution early the next month."""
    limit = thresholds().cosi_cash_monthly
    deposit = (txns.channel == 0) & (txns.src < 0) & (txns.dst >= 0)
    withdrawal = (txns.channel == 0) & (txns.dst < 0) & (txns.src >= 0)
    acc = np.concatenate([txns.dst[deposit], txns.src[withdrawal]])
    ts = np.concatenate([txns.ts[deposit], txns.ts[withdrawal]])
    amount = np.concatenate([txns.amount[deposit], txns.amount[withdrawal]])
    owner = world.accounts["entity"][acc]
    keep = owner >= 0
    acc, ts, amount = acc[keep], ts[keep], amount[keep]
    month = np.searchsorted(world.month_start_s, ts, side="right") - 1
    key = acc * world.months + month
    uniq, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=amount)
    hit = uniq[total > limit]
    hit_acc, hit_month = hit // world.months, hit % world.months
    reported = world.month_start_s[hit_month + 1] + 3 * DAY
    inside = reported < world.end_s
    return {
        "entity": world.accounts["entity"][hit_acc[inside]],
        "declarant": world.accounts["institution"][hit_acc[inside]].astype(np.int64),
        "ts": reported[inside],
        "category": np.full(int(inside.sum()), CATEGORY["cash_threshold"], np.int8),
    }
