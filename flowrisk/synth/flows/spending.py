"""Persons' spending: card payments, cash withdrawals, rent, utilities, taxes and savings."""

from __future__ import annotations

import numpy as np

from flowrisk.synth.flows.timing import branch, events, monthly, net_month, when
from flowrisk.synth.world import Arch, Txns, World, pick

__all__ = ["person_spending"]


def _card_rate(arch: np.ndarray) -> np.ndarray:
    """Card payments a month: fewer for students, more for high earners."""
    return np.select([arch == Arch.STUDENT, arch == Arch.HIGH_EARNER], [3.0, 6.0], 4.0)


def _cards_and_cash(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Card spending (mostly outside merchants, some in-world shops) and ATM withdrawals."""
    arch = world.arch[ents]
    e, m = events(rng, world, ents, _card_rate(arch))
    share = np.interp(world.income[e], [5_000, 30_000, 150_000], [0.45, 0.3, 0.2])
    amount = net_month(world, e) * share / _card_rate(world.arch[e])
    amount = amount * rng.lognormal(-0.18, 0.6, len(e))
    dst = np.where(
        rng.random(len(e)) < 0.92,
        pick(rng, world.pools["merchant_ext"], len(e)),
        pick(rng, world.pools["shop"], len(e)),
    )
    cards = Txns.make(world.acc_primary[e], dst, when(rng, world, m), amount, "card")
    wd_rate = np.select([arch == Arch.RETIREE, arch == Arch.CASH_WORKER], [1.3, 0.4], 0.8)
    e, m = events(rng, world, ents, wd_rate)
    amount = np.round(rng.lognormal(np.log(80), 0.6, len(e)) / 20) * 20 + 20
    cash = Txns.make(
        world.acc_primary[e],
        -1,
        when(rng, world, m),
        amount,
        "cash",
        branch=branch(rng, world, e, 0.6),
    )
    return [cards, cash]


def _housing_and_bills(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Monthly rent of renters, utility bills and income tax."""
    renters = ents[world.landlord[ents] >= 0]
    rent = net_month(world, renters) * 0.3 * rng.lognormal(0, 0.15, len(renters))
    rent = np.maximum(rent, 250)
    e, m = monthly(world, renters)
    out = [
        Txns.make(
            world.acc_primary[e],
            world.landlord[e],
            when(rng, world, m, 0, 5),
            np.repeat(rent, world.months),
            "wire",
        )
    ]
    e, m = events(rng, world, ents, 0.7)
    out.append(
        Txns.make(
            world.acc_primary[e],
            pick(rng, world.pools["utility"], len(e)),
            when(rng, world, m),
            rng.lognormal(np.log(70), 0.5, len(e)),
            "wire",
        )
    )
    income = net_month(world, ents)
    e, m = events(rng, world, ents, 0.25)
    out.append(
        Txns.make(
            world.acc_primary[e],
            pick(rng, world.pools["tax"], len(e)),
            when(rng, world, m),
            income[np.searchsorted(ents, e)] * 12 * 0.03 * rng.lognormal(0, 0.3, len(e)),
            "wire",
        )
    )
    return out


def _savings(rng: np.random.Generator, world: World, ents: np.ndarray) -> Txns:
    """Transfers to the savings account, for those who hold one (not students)."""
    savers = ents[world.acc_savings[ents] >= 0]
    savers = savers[world.arch[savers] != Arch.STUDENT]
    e, m = events(rng, world, savers, 0.6)
    return Txns.make(
        world.acc_primary[e],
        world.acc_savings[e],
        when(rng, world, m),
        net_month(world, e) * rng.uniform(0.05, 0.2, len(e)),
        "instant",
    )


def person_spending(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Card spending, cash withdrawals, rent, utilities, taxes and savings."""
    return [
        *_cards_and_cash(rng, world, ents),
        *_housing_and_bills(rng, world, ents),
        _savings(rng, world, ents),
    ]
