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
    COUNTRY_CURRENCY,
    DAY,
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
    channel = np.where(funnel, 0, np.where(rng.random(n) < 0.7, 2, 1)).astype(np.int8)
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
            np.minimum(np.round(fwd[atm], -1), 1_000),
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


def plan_layering(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Groups of 4-7: one or two persons who own two to five companies that move money around.

    Members of a group are taken from one neighbourhood of entity numbers so that a group is
    drawn in one chunk; the persons become beneficial owners of the group's companies.
    """
    free_person = (
        ~world.is_company
        & ~guilty
        & np.isin(world.arch, [Arch.SALARIED, Arch.HIGH_EARNER, Arch.CASH_WORKER])
    )
    free_company = (world.arch == Arch.ORDINARY_COMPANY) & ~guilty
    members: list[np.ndarray] = []
    scheme: list[np.ndarray] = []
    total, g = 0, 0
    chunk = world.params.chunk_entities
    while total < k:
        size = min(int(rng.integers(4, 8)), max(k - total, 3))
        n_p = 1 if size <= 5 else 2
        # a neighbourhood of entity numbers (one chunk), or the whole world if it is too thin
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
        scheme.append(np.full(len(group), g))
        total += len(group)
        g += 1
    ent = np.concatenate(members) if members else np.zeros(0, np.int64)
    sch = np.concatenate(scheme) if scheme else np.zeros(0, np.int64)
    n_groups = g
    group_start = rng.integers(0, max(1, world.months - 2), n_groups)
    plan = new_plan(rng, world, ent, sch, start_month=group_start[sch])
    first = np.r_[0, np.flatnonzero(np.diff(sch)) + 1] if len(sch) else sch
    plan.start_s[:] = plan.start_s[first][sch] if len(sch) else plan.start_s
    is_person = ~world.is_company[ent]
    plan.role[~is_person] = 1
    # the group's persons own and direct its companies
    boss = ent[first][sch]
    comp = ~is_person
    o = world.ownership
    since = (plan.start_s[comp] // DAY - rng.integers(30, 700, int(comp.sum()))).astype(np.int32)
    new = {
        "owner": np.concatenate([boss[comp], boss[comp]]),
        "owned": np.concatenate([ent[comp], ent[comp]]),
        "role": np.concatenate(
            [np.zeros(int(comp.sum()), np.int8), np.ones(int(comp.sum()), np.int8)]
        ),
        "share": np.concatenate(
            [np.round(rng.uniform(30, 100, int(comp.sum())), 1), np.full(int(comp.sum()), np.nan)]
        ),
        "since": np.concatenate([since, since]),
    }
    world.ownership = {key: np.concatenate([o[key], new[key]]) for key in o}
    world.owner[ent[comp]] = boss[comp]
    return plan


def inject_layering(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Rounds of fan-in, fan-out, cycles, scatter-gather and U-turns inside each group.

    A group is drawn in the chunk of its first member; money enters from offshore companies and
    part of it leaves again.
    """
    k = world.params.intensity("layering")
    sch = plan.scheme
    first = np.r_[0, np.flatnonzero(np.diff(sch)) + 1] if len(sch) else sch
    bounds = np.r_[first, len(sch)]
    cols: dict[str, list] = {
        "src": [],
        "dst": [],
        "ts": [],
        "amount": [],
        "entity": [],
        "scheme": [],
    }
    for g, f in enumerate(first):
        if not lo <= plan.entity[f] < hi:
            continue
        group = plan.entity[bounds[g] : bounds[g + 1]]
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
                legs = _round_legs(rng, len(group), n_person, int(rng.integers(0, 5)))
                entry = int(pick(rng, world.pools["offshore_company"], 1)[0])
                src_i, dst_i = legs[0][0], legs[-1][1]
                path = [(entry, acc[src_i], group[src_i])]
                path += [(acc[a], acc[b], group[a]) for a, b in legs]
                if rng.random() < 0.4:
                    exit_to = int(pick(rng, world.pools["offshore_company"], 1)[0])
                    path.append((acc[dst_i], exit_to, group[dst_i]))
                value = base
                for step, (s, d, who) in enumerate(path):
                    cols["src"].append(s)
                    cols["dst"].append(d)
                    cols["ts"].append(t + step * int(rng.integers(3, 30)) * HOUR)
                    cols["amount"].append(round(value, -2) if rng.random() < 0.5 else value)
                    cols["entity"].append(who)
                    cols["scheme"].append(sch[f])
                    value *= float(rng.uniform(0.9, 0.99))
    if not cols["ts"]:
        return []
    arr = {key: np.asarray(v) for key, v in cols.items()}
    return [
        Txns.make(
            arr["src"],
            arr["dst"],
            arr["ts"],
            arr["amount"],
            "wire",
            entity=arr["entity"],
            scheme=arr["scheme"],
        )
    ]


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
