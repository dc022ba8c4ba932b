"""Flow typologies: pass-through mules and funnels, high-risk jurisdictions, layering networks."""

from __future__ import annotations

import numpy as np

from flowrisk.synth.institutions import N_BRANCHES
from flowrisk.synth.typologies.base import (
    active_events,
    in_chunk,
    new_plan,
    pick,
    select_members,
)
from flowrisk.synth.world import (
    CHANNEL,
    COUNTRY_CURRENCY,
    DAY,
    ROLE,
    AccountBook,
    Arch,
    SchemePlan,
    Txns,
    World,
)

__all__ = [
    "inject_high_risk_jurisdiction",
    "inject_layering",
    "inject_mule",
    "plan_high_risk_jurisdiction",
    "plan_layering",
    "plan_mule",
]

HOUR = 3600
ATM_LIMIT = 1_000.0  # most a mule takes out of a cash machine at once (EUR)


def plan_mule(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Mules (many unrelated payers) and funnels (cash paid in by others at many branches)."""
    eligible = ~world.is_company & np.isin(
        world.arch, [Arch.STUDENT, Arch.SALARIED, Arch.CASH_WORKER]
    )
    members = select_members(rng, eligible, k, guilty)
    n = len(members)
    plan = new_plan(rng, world, members, np.arange(n), min_months=2)
    plan.extra["funnel"] = rng.random(n) < 0.3
    u = rng.random(n)
    plan.extra["collector"] = np.select(
        [u < 0.4, u < 0.7],
        [
            pick(rng, world.pools["foreign_risky_partner"], n),
            pick(rng, world.pools["offshore_company"], n),
        ],
        pick(rng, world.pools["person"], n),
    )
    return plan


def inject_mule(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Money in from many payers, out again within hours to days, little balance kept."""
    k = world.params.intensity("mule")
    rows = in_chunk(plan, lo, hi)
    row, _, ts = active_events(rng, world, plan, rows, np.clip(8.0 * k, 2.0, 40.0))
    e = plan.entity[row]
    n = len(row)
    funnel = plan.extra["funnel"][row]
    amount = np.where(funnel, rng.uniform(500, 3_000, n), rng.lognormal(np.log(600), 0.6, n))
    acc = world.acc_primary[e]
    payer = np.where(funnel, -1, pick(rng, world.pools["person"], n))
    transfer = np.where(rng.random(n) < 0.7, CHANNEL["instant"], CHANNEL["wire"])
    channel = np.where(funnel, CHANNEL["cash"], transfer).astype(np.int8)
    branch = np.where(funnel, rng.integers(0, N_BRANCHES, n), -1)
    out = [
        Txns.make(
            payer,
            acc,
            ts,
            amount,
            channel,
            branch=branch,
            entity=e,
            scheme=plan.scheme[row],
        )
    ]
    collector = plan.extra["collector"][row]
    atm = rng.random(n) < 0.2
    fwd_ts = ts + rng.integers(1, 48, n) * HOUR
    fwd = amount * rng.uniform(0.9, 0.98, n)
    cur = COUNTRY_CURRENCY[world.accounts["country"][collector]]
    out.append(
        Txns.make(
            acc[~atm],
            collector[~atm],
            fwd_ts[~atm],
            fwd[~atm],
            "wire",
            currency=cur[~atm],
            entity=e[~atm],
            scheme=plan.scheme[row][~atm],
        )
    )
    out.append(
        Txns.make(
            acc[atm],
            -1,
            fwd_ts[atm],
            np.minimum(np.round(fwd[atm], -1), ATM_LIMIT),
            "cash",
            branch=rng.integers(0, N_BRANCHES, int(atm.sum())),
            entity=e[atm],
            scheme=plan.scheme[row][atm],
        )
    )
    return out


def plan_high_risk_jurisdiction(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Persons and trading companies with recurring large flows to and from watched countries."""
    eligible = np.isin(
        world.arch,
        [Arch.SALARIED, Arch.REMITTER, Arch.HIGH_EARNER, Arch.CASH_WORKER, Arch.ORDINARY_COMPANY],
    )
    members = select_members(rng, eligible, k, guilty)
    n = len(members)
    plan = new_plan(rng, world, members, np.arange(n))
    risky = np.concatenate([world.pools["foreign_risky_partner"], world.pools["offshore_company"]])
    plan.extra["partner"] = pick(rng, risky, n * 3).reshape(n, 3)
    return plan


def inject_high_risk_jurisdiction(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Wires both ways with the member's few partners there, often in round sums."""
    k = world.params.intensity("high_risk_jurisdiction")
    rows = in_chunk(plan, lo, hi)
    row, _, ts = active_events(rng, world, plan, rows, np.clip(1.5 * k, 0.4, 6.0))
    e = plan.entity[row]
    n = len(row)
    company = world.is_company[e]
    amount = np.where(
        company, rng.lognormal(np.log(40_000), 0.7, n), rng.lognormal(np.log(6_000), 0.6, n)
    )
    amount = np.where(rng.random(n) < 0.6, np.maximum(np.round(amount, -3), 1_000), amount)
    partner = plan.extra["partner"][row, rng.integers(0, 3, n)]
    acc = world.acc_primary[e]
    outward = rng.random(n) < 0.65
    src = np.where(outward, acc, partner)
    dst = np.where(outward, partner, acc)
    cur = COUNTRY_CURRENCY[world.accounts["country"][partner]]
    return [
        Txns.make(
            src,
            dst,
            ts,
            amount,
            "wire",
            currency=cur,
            entity=e,
            scheme=plan.scheme[row],
        )
    ]


def _draw_groups(
    rng: np.random.Generator, world: World, k: int, guilty: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Groups of 4-7 free entities (1-2 persons, the rest companies), each from one chunk when it
    holds enough: the members and their group number, group by group."""
    free_person = (
        ~world.is_company
        & ~guilty
        & np.isin(world.arch, [Arch.SALARIED, Arch.HIGH_EARNER, Arch.CASH_WORKER])
    )
    free_company = (world.arch == Arch.ORDINARY_COMPANY) & ~guilty
    members: list[np.ndarray] = []
    chunk = world.params.chunk_entities
    total = 0
    while total < k:
        size = min(int(rng.integers(4, 8)), max(k - total, 3))
        n_p = 1 if size <= 5 else 2
        lo = int(rng.integers(0, world.n_entities)) // chunk * chunk
        near_p = lo + np.flatnonzero(free_person[lo : lo + chunk])
        near_c = lo + np.flatnonzero(free_company[lo : lo + chunk])
        if len(near_c) < size - n_p or len(near_p) < n_p:
            near_p, near_c = np.flatnonzero(free_person), np.flatnonzero(free_company)
            if len(near_p) < n_p or len(near_c) < 2:
                break
        group = np.concatenate(
            [
                rng.choice(near_p, n_p, replace=False),
                rng.choice(near_c, min(size - n_p, len(near_c)), replace=False),
            ]
        )
        free_person[group] = False
        free_company[group] = False
        members.append(group)
        total += len(group)
    ent = np.concatenate(members) if members else np.zeros(0, np.int64)
    sch = np.repeat(np.arange(len(members)), [len(g) for g in members]).astype(np.int64)
    return ent, sch


def _own_the_companies(
    rng: np.random.Generator, world: World, plan: SchemePlan, boss: np.ndarray
) -> None:
    """The group's first person becomes beneficial owner and director of its companies."""
    ent = plan.entity
    comp = world.is_company[ent]
    n = int(comp.sum())
    since = (plan.start_s[comp] // DAY - rng.integers(30, 700, n)).astype(np.int32)
    new = {
        "owner": np.concatenate([boss[comp], boss[comp]]),
        "owned": np.concatenate([ent[comp], ent[comp]]),
        "role": np.concatenate(
            [np.full(n, ROLE["beneficial_owner"], np.int8), np.full(n, ROLE["director"], np.int8)]
        ),
        "share": np.concatenate([np.round(rng.uniform(30, 100, n), 1), np.full(n, np.nan)]),
        "since": np.concatenate([since, since]),
    }
    o = world.ownership
    world.ownership = {key: np.concatenate([o[key], new[key]]) for key in o}
    world.owner[ent[comp]] = boss[comp]


def plan_layering(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Groups of 4-7: one or two persons who own two to five companies that move money around.

    Members of a group are taken from one neighbourhood of entity numbers so that a group is
    drawn in one chunk; the persons become beneficial owners of the group's companies.
    """
    ent, sch = _draw_groups(rng, world, k, guilty)
    n_groups = int(sch[-1]) + 1 if len(sch) else 0
    group_start = rng.integers(0, max(1, world.months - 2), n_groups)
    plan = new_plan(rng, world, ent, sch, start_month=group_start[sch])
    first = _group_starts(sch)
    plan.start_s[:] = plan.start_s[first][sch] if len(sch) else plan.start_s
    plan.role[world.is_company[ent]] = 1
    _own_the_companies(rng, world, plan, ent[first][sch])
    return plan


def _group_starts(sch: np.ndarray) -> np.ndarray:
    """Position of each group's first member in a plan sorted by group."""
    return np.r_[0, np.flatnonzero(np.diff(sch)) + 1] if len(sch) else sch


def _group_rounds(
    rng: np.random.Generator,
    world: World,
    plan: SchemePlan,
    f: int,
    group: np.ndarray,
    legs: list[tuple[int, int, int, int, float]],
) -> None:
    """Every month from the group's start: Poisson(1.5 x intensity) + 1 rounds, each entering
    from an offshore company, passing along the members and sometimes leaving again."""
    k = world.params.intensity("layering")
    acc = world.acc_primary[group]
    n_person = int((~world.is_company[group]).sum())
    start_month = int(np.searchsorted(world.month_start_s, plan.start_s[f], "right") - 1)
    for month in range(start_month, world.months):
        for _ in range(rng.poisson(1.5 * k) + 1):
            t = int(
                max(world.month_start_s[month], plan.start_s[f])
                + rng.integers(0, 20) * DAY
                + rng.integers(8, 18) * HOUR
            )
            base = float(rng.lognormal(np.log(40_000), 0.6))
            pattern = _round_legs(rng, len(group), n_person, int(rng.integers(0, 5)))
            entry = int(pick(rng, world.pools["offshore_company"], 1)[0])
            src_i, dst_i = pattern[0][0], pattern[-1][1]
            path = [(entry, acc[src_i], group[src_i])]
            path += [(acc[a], acc[b], group[a]) for a, b in pattern]
            if rng.random() < 0.4:
                exit_to = int(pick(rng, world.pools["offshore_company"], 1)[0])
                path.append((acc[dst_i], exit_to, group[dst_i]))
            value = base
            for step, (s, d, who) in enumerate(path):
                ts = t + step * int(rng.integers(3, 30)) * HOUR
                legs.append((s, d, ts, who, round(value, -2) if rng.random() < 0.5 else value))
                value *= float(rng.uniform(0.9, 0.99))


def inject_layering(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Rounds of fan-in, fan-out, cycles, scatter-gather and U-turns inside each group.

    A group is drawn in the chunk of its first member; money enters from offshore companies and
    part of it leaves again.
    """
    sch = plan.scheme
    first = _group_starts(sch)
    bounds = np.r_[first, len(sch)]
    legs: list[tuple[int, int, int, int, float]] = []
    schemes: list[int] = []
    for g, f in enumerate(first):
        if not lo <= plan.entity[f] < hi:
            continue
        before = len(legs)
        _group_rounds(rng, world, plan, int(f), plan.entity[bounds[g] : bounds[g + 1]], legs)
        schemes += [int(sch[f])] * (len(legs) - before)
    if not legs:
        return []
    src, dst, ts, who, amount = (np.asarray(col) for col in zip(*legs, strict=True))
    return [Txns.make(src, dst, ts, amount, "wire", entity=who, scheme=np.asarray(schemes))]


def _round_legs(
    rng: np.random.Generator, size: int, n_person: int, pattern: int
) -> list[tuple[int, int]]:
    """Member-to-member legs of one round: 0 cycle, 1 fan-out, 2 fan-in, 3 scatter-gather,
    4 U-turn (person to companies and back to the person)."""
    order = [int(i) for i in rng.permutation(size)]
    if pattern == 0:
        ring = order[: int(rng.integers(3, min(size, 5) + 1))]
        return [(ring[i], ring[(i + 1) % len(ring)]) for i in range(len(ring))]
    if pattern == 1:
        return [(order[0], b) for b in order[1 : int(rng.integers(3, size + 1))]]
    if pattern == 2:
        return [(a, order[0]) for a in order[1 : int(rng.integers(3, size + 1))]]
    if pattern == 3:
        mids = order[1:-1][: max(2, size - 2)]
        return [(order[0], m) for m in mids] + [(m, order[-1]) for m in mids]
    person = int(rng.integers(0, max(n_person, 1)))
    companies = [i for i in order if i >= n_person][:3]
    chain = [person, *companies, person]
    return [(chain[i], chain[i + 1]) for i in range(len(chain) - 1)]
