"""Cash typologies: structuring and smurfing, and front businesses ("lessiveuses")."""

from __future__ import annotations

import numpy as np

from flowrisk.reference import thresholds
from flowrisk.synth.institutions import INSTITUTION, MTOS, N_BRANCHES, pick_bank
from flowrisk.synth.typologies.base import (
    active_events,
    in_chunk,
    new_plan,
    pick,
    select_members,
)
from flowrisk.synth.world import (
    COUNTRY,
    COUNTRY_CURRENCY,
    DAY,
    AccountBook,
    Arch,
    SchemePlan,
    Txns,
    World,
    day_of,
)

__all__ = ["inject_front_business", "inject_structuring", "plan_front_business", "plan_structuring"]

VARIANT = {"cosi": 0, "remittances": 1, "smurf": 2}  # kinds of structurers


def plan_structuring(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Structurers deposit cash under the thresholds; a third act in smurfing groups of 3-5.

    Variant per member (``extra['variant']``): 0 = monthly COSI avoidance across accounts and
    branches, 1 = cash-funded remittances under the per-operation and monthly limits,
    2 = smurf depositing for a group leader (the group's first member).
    """
    eligible = ~world.is_company & np.isin(
        world.arch, [Arch.SALARIED, Arch.CASH_WORKER, Arch.STUDENT, Arch.REMITTER, Arch.RETIREE]
    )
    members = select_members(rng, eligible, k, guilty)
    n = len(members)
    variant = rng.choice(len(VARIANT), n, p=[0.45, 0.2, 0.35]).astype(np.int8)
    scheme = np.arange(n, dtype=np.int64)
    smurfs = np.flatnonzero(variant == VARIANT["smurf"])
    # groups of 3-5 consecutive smurfs share the scheme id of their leader
    sizes = rng.integers(3, 6, len(smurfs))
    group_of = np.repeat(np.arange(len(sizes)), sizes)[: len(smurfs)]
    leaders = smurfs[np.r_[0, np.flatnonzero(np.diff(group_of)) + 1]] if len(smurfs) else smurfs
    if len(smurfs):
        scheme[smurfs] = scheme[leaders[group_of]]
    plan = new_plan(rng, world, members, scheme)
    leader = np.arange(n)
    if len(smurfs):
        leader[smurfs] = leaders[group_of]
        plan.start_s[smurfs] = plan.start_s[leader[smurfs]]
    plan.role[leader != np.arange(n)] = 1
    plan.extra["variant"] = variant
    plan.extra["leader"] = leader
    # structurers spread deposits over accounts at several banks
    start_day = day_of(world.params.start)
    need = members[world.acc_second[members] < 0]
    world.acc_second[need] = book.add(
        need,
        "current",
        pick_bank(rng, len(need)),
        COUNTRY["FR"],
        start_day - rng.integers(30, 900, len(need)),
    )
    remit = members[(variant == VARIANT["remittances"]) & (world.acc_mto[members] < 0)]
    world.acc_mto[remit] = book.add(
        remit,
        "current",
        INSTITUTION[MTOS[0]] + rng.integers(0, len(MTOS), len(remit)),
        COUNTRY["FR"],
        start_day - rng.integers(30, 900, len(remit)),
    )
    far = members[(variant == VARIANT["remittances"]) & (world.family_abroad[members] < 0)]
    world.family_abroad[far] = pick(rng, world.pools["family_abroad"], len(far))
    plan.extra["sink"] = np.where(
        rng.random(n) < 0.5,
        pick(rng, world.pools["company"], n),
        pick(rng, world.pools["offshore_company"], n),
    )
    return plan


def _monthly_deposits(
    rng: np.random.Generator, world: World, plan: SchemePlan, rows: np.ndarray, k: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A month's cash just under the COSI threshold in several deposits over the month: the
    plan row, amount and time of each deposit."""
    t = thresholds()
    row, month, _ = active_events(rng, world, plan, rows, np.clip(1.2 * k, 0.2, 5.0), at_most=1)
    monthly_total = t.cosi_cash_monthly * rng.uniform(t.near_threshold_fraction, 0.995, len(row))
    n_dep = rng.poisson(2.5 * k, len(row)) + 2
    dep_row = np.repeat(row, n_dep)
    w = rng.gamma(4.0, 1.0, len(dep_row))
    group = np.repeat(np.arange(len(row)), n_dep)
    w /= np.bincount(group, weights=w)[group]
    amount = np.floor(monthly_total[group] * w / 10) * 10
    lo_s = np.maximum(world.month_start_s[month], plan.start_s[row])[group]
    hi_s = world.month_start_s[month + 1][group] - DAY // 2
    dep_ts = lo_s + (rng.random(len(dep_row)) * (hi_s - lo_s)).astype(np.int64)
    return dep_row, amount, dep_ts


def _cosi_avoidance(
    rng: np.random.Generator, world: World, plan: SchemePlan, rows: np.ndarray, k: float
) -> list[Txns]:
    """Structurers and smurfs deposit at random branches on two accounts; smurfs pass the cash
    on to their leader, the others often move it on to their beneficiary."""
    dep_row, amount, dep_ts = _monthly_deposits(rng, world, plan, rows, k)
    e = plan.entity[dep_row]
    acc = np.where(rng.random(len(e)) < 0.5, world.acc_primary[e], world.acc_second[e])
    branch = rng.integers(0, N_BRANCHES, len(e)).astype(np.int32)
    scheme = plan.scheme[dep_row]
    deposits = Txns.make(-1, acc, dep_ts, amount, "cash", branch=branch, entity=e, scheme=scheme)
    smurf = plan.role[dep_row] == 1
    leader = plan.extra["leader"][dep_row]
    dst = np.where(smurf, world.acc_primary[plan.entity[leader]], plan.extra["sink"][dep_row])
    pass_on = smurf | (rng.random(len(e)) < 0.6)
    n = int(pass_on.sum())
    passed = Txns.make(
        acc[pass_on],
        dst[pass_on],
        dep_ts[pass_on] + rng.integers(DAY // 4, 3 * DAY, n),
        amount[pass_on] * rng.uniform(0.85, 0.98, n),
        "instant",
        entity=e[pass_on],
        scheme=scheme[pass_on],
    )
    return [deposits, passed]


def _cash_remittances(
    rng: np.random.Generator, world: World, plan: SchemePlan, rows: np.ndarray, k: float
) -> list[Txns]:
    """Cash paid in at a transfer operator and sent abroad, each just under the per-operation
    remittance limit, about two a month."""
    t = thresholds()
    row, _, ts = active_events(rng, world, plan, rows, np.clip(2.0 * k, 0.5, 4.0))
    e = plan.entity[row]
    limit = t.remittance_cash_per_operation
    amount = np.floor(limit * rng.uniform(t.near_threshold_fraction, 0.999, len(e)))
    fam = world.family_abroad[e]
    cur = COUNTRY_CURRENCY[world.accounts["country"][fam]]
    branch = rng.integers(0, N_BRANCHES, len(e)).astype(np.int32)
    mto, scheme = world.acc_mto[e], plan.scheme[row]
    paid_in = Txns.make(-1, mto, ts, amount, "cash", branch=branch, entity=e, scheme=scheme)
    sent_ts = ts + rng.integers(120, 3600, len(e))
    sent = Txns.make(mto, fam, sent_ts, amount, "remittance", currency=cur, entity=e, scheme=scheme)
    return [paid_in, sent]


def inject_structuring(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Deposits just under the thresholds, spread over days, accounts, branches and smurfs."""
    k = world.params.intensity("structuring")
    rows = in_chunk(plan, lo, hi)
    remits = plan.extra["variant"][rows] == VARIANT["remittances"]
    return [
        *_cosi_avoidance(rng, world, plan, rows[~remits], k),
        *_cash_remittances(rng, world, plan, rows[remits], k),
    ]


def plan_front_business(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Cash-intensive companies turned fronts: young, often short-lived, flat and supplier-poor."""
    intensity = world.params.intensity("front_business")
    eligible = world.arch == Arch.CASH_BUSINESS
    members = select_members(rng, eligible, k, guilty, overlap=0.0)
    n = len(members)
    start_day = day_of(world.params.start)
    months = world.months
    world.registration_day[members] = start_day - rng.integers(60, 900, n)
    short = rng.random(n) < 0.35
    last = max(1, months - 1)
    close_month = rng.integers(min(3, last), last + 1, n)
    close_day = world.month_start_s[np.minimum(close_month, months)] // DAY
    world.closure_day[members] = np.where(short, close_day, -1)
    world.supplier_ratio[members] *= np.clip(1 - 0.6 * intensity, 0.1, 0.9)
    world.seasonality_amp[members] = rng.uniform(0.0, 0.3, n)
    world.employees[members] = np.maximum(1, world.employees[members] // 2)
    extra = world.revenue[members] * intensity * rng.uniform(0.8, 2.2, n)
    world.declared_revenue[members] += extra  # the laundered cash is declared as takings
    plan = new_plan(rng, world, members, np.arange(n), start_month=np.zeros(n, dtype=np.int64))
    plan.start_s[:] = np.maximum(plan.start_s, world.registration_day[members] * DAY)
    plan.extra["dirty_monthly"] = extra / 12.0
    plan.extra["sink"] = np.where(
        rng.random(n) < 0.5,
        pick(rng, world.pools["offshore_company"], n),
        world.acc_primary[world.owner[members]],
    )
    return plan


def inject_front_business(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Dirty cash deposited as takings, often in round sums, then moved to owners or abroad."""
    rows = in_chunk(plan, lo, hi)
    row, _, ts = active_events(rng, world, plan, rows, rng.uniform(4, 9, len(rows)))
    e = world.acc_primary[plan.entity[row]]
    per_month = rng.uniform(4, 9, len(row))
    base = plan.extra["dirty_monthly"][row] / per_month * rng.lognormal(0, 0.25, len(row))
    round_to = np.where(rng.random(len(row)) < 0.7, 500.0, 0.01)
    amount = np.maximum(np.round(base / round_to) * round_to, 100.0)
    out = [
        Txns.make(
            -1,
            e,
            ts,
            amount,
            "cash",
            branch=world.home_branch[plan.entity[row]],
            entity=plan.entity[row],
            scheme=plan.scheme[row],
        )
    ]
    row, _, ts = active_events(rng, world, plan, rows, 2.0)
    out.append(
        Txns.make(
            world.acc_primary[plan.entity[row]],
            plan.extra["sink"][row],
            ts + 2 * DAY,
            plan.extra["dirty_monthly"][row] * rng.uniform(0.25, 0.45, len(row)),
            "wire",
            entity=plan.entity[row],
            scheme=plan.scheme[row],
        )
    )
    return out
