"""Persons' income: salaries, pensions, allowances, second jobs and bonuses, online sales and
cash earnings.

Honest pay is not one flat line all year: some change employer (with a raise), take up a second
job or get a bonus; without them any new regular payer would look like a mule's.
"""

from __future__ import annotations

import numpy as np

from flowrisk.synth.flows.timing import branch, events, monthly, net_month, when
from flowrisk.synth.world import Arch, Txns, World, pick

__all__ = ["person_income"]

PAID = [Arch.SALARIED, Arch.HIGH_EARNER, Arch.CRYPTO_HOBBYIST, Arch.REMITTER, Arch.RETIREE]


def _pay(rng: np.random.Generator, world: World, paid: np.ndarray, working: np.ndarray) -> Txns:
    """Monthly pay or pension; some workers move to another employer with a raise."""
    e, m = monthly(world, paid)
    day_lo = np.where(world.arch[e] == Arch.RETIREE, 7, 24)
    ts = when(rng, world, m, day_lo, day_lo + 3)
    amount = net_month(world, e) * rng.normal(1.0, 0.03, len(e))
    other_employer = world.employer[rng.choice(working, len(paid))] if len(working) else None
    switch = np.where(
        (world.arch[paid] != Arch.RETIREE) & (rng.random(len(paid)) < 0.08),
        rng.integers(1, max(world.months, 2), len(paid)),
        world.months,
    )
    raise_ = rng.uniform(1.0, 1.15, len(paid))
    i = np.searchsorted(paid, e)
    moved = m >= switch[i]
    src = world.employer[e]
    if other_employer is not None:
        src = np.where(moved, other_employer[i], src)
    return Txns.make(
        src, world.acc_primary[e], ts, amount * np.where(moved, raise_[i], 1.0), "wire"
    )


def _second_jobs_and_bonuses(
    rng: np.random.Generator, world: World, working: np.ndarray
) -> list[Txns]:
    """A tenth of workers take a second job from some month on; a third get a yearly bonus."""
    second = working[rng.random(len(working)) < 0.10]
    start = rng.integers(0, world.months, len(second))
    share = rng.uniform(0.1, 0.4, len(second))
    payer = world.employer[rng.choice(working, len(second))]
    e, m = monthly(world, second)
    j = np.searchsorted(second, e)
    on = m >= start[j]
    e, m, j = e[on], m[on], j[on]
    jobs = Txns.make(
        payer[j],
        world.acc_primary[e],
        when(rng, world, m, 0, 10),
        net_month(world, e) * share[j] * rng.normal(1.0, 0.05, len(e)),
        "wire",
    )
    bonus = working[rng.random(len(working)) < 0.35]
    month = rng.integers(0, world.months, len(bonus))
    bonuses = Txns.make(
        world.employer[bonus],
        world.acc_primary[bonus],
        when(rng, world, month, 20, 28),
        net_month(world, bonus) * rng.uniform(0.5, 1.5, len(bonus)),
        "wire",
    )
    return [jobs, bonuses]


def _students_and_sellers(
    rng: np.random.Generator, world: World, ents: np.ndarray, students: np.ndarray
) -> list[Txns]:
    """Students' monthly allowance; a quarter of students and a few workers sell goods online
    (many small unrelated payers)."""
    e, m = monthly(world, students)
    allowance = np.round(rng.uniform(150, 600, len(students)), -1)
    allowances = Txns.make(
        world.employer[e],
        world.acc_primary[e],
        when(rng, world, m, 0, 6),
        np.repeat(allowance, world.months),
        "instant",
    )
    sellers = np.concatenate(
        [
            students[rng.random(len(students)) < 0.25],
            ents[(world.arch[ents] == Arch.SALARIED) & (rng.random(len(ents)) < 0.03)],
        ]
    )
    e, m = events(rng, world, sellers, rng.uniform(2, 12, len(sellers)))
    sales = Txns.make(
        pick(rng, world.pools["person"], len(e)),
        world.acc_primary[e],
        when(rng, world, m),
        rng.lognormal(np.log(45), 0.7, len(e)),
        "instant",
    )
    return [allowances, sales]


def _cash_work(rng: np.random.Generator, world: World, workers: np.ndarray) -> list[Txns]:
    """Cash workers bank their earnings in a few deposits a month, and get paid by persons."""
    rate = rng.uniform(2, 7, len(workers))
    e, m = events(rng, world, workers, rate)
    per = rate[np.searchsorted(workers, e)]
    amount = np.maximum(
        np.round(net_month(world, e) / per * rng.lognormal(0, 0.45, len(e)), -1), 20.0
    )
    deposits = Txns.make(
        -1,
        world.acc_primary[e],
        when(rng, world, m),
        amount,
        "cash",
        branch=branch(rng, world, e, 0.8),
    )
    e, m = events(rng, world, workers, 1.0)
    transfers = Txns.make(
        pick(rng, world.pools["person"], len(e)),
        world.acc_primary[e],
        when(rng, world, m),
        rng.lognormal(np.log(120), 0.6, len(e)),
        "instant",
    )
    return [deposits, transfers]


def person_income(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Salaries, pensions, allowances, cash earnings and small transfers from other people."""
    arch = world.arch[ents]
    paid = ents[np.isin(arch, PAID)]
    working = paid[world.arch[paid] != Arch.RETIREE]
    out = [_pay(rng, world, paid, working)]
    if len(working):
        out += _second_jobs_and_bonuses(rng, world, working)
    out += _students_and_sellers(rng, world, ents, ents[arch == Arch.STUDENT])
    out += _cash_work(rng, world, ents[arch == Arch.CASH_WORKER])
    return out
