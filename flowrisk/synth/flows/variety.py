"""The variety of honest life that generic amount and neighbourhood features would otherwise
mistake for laundering: money between people in heavy-tailed round and odd sums, freelance and
seasonal incomes from several clients, one-off bursts (a car sold, a wedding, an inheritance)
companies paid by many customers, family loans repaid (round trips) and flatmates whose shares
of the rent one of them collects every month (a repeated fan-in before the rent goes out).

Drawn after the rest of ordinary life (the order of the draws is part of a world's identity).
"""

from __future__ import annotations

import numpy as np

from flowrisk.synth.flows.timing import events, net_month, when
from flowrisk.synth.world import DAY, Arch, Txns, World, pick

__all__ = ["honest_variety"]

CIRCLE = 6  # most people a person exchanges money with (friends and family)
ROUND_SHARE = 0.5  # share of payments between people made in whole tens, fifties or hundreds
FREELANCE_SHARE = 0.08  # workers with freelance clients on top of their pay
CAR_SALE, WEDDING, INHERITANCE = 0.04, 0.02, 0.015  # yearly chance of each burst per person
FAMILY_LOAN = 0.06  # yearly chance that a person lends a relative money that comes back
FLAT_SHARE = 0.05  # share of renters who collect their flatmates' shares of the rent


def _roundish(rng: np.random.Generator, amount: np.ndarray) -> np.ndarray:
    """Half the amounts rounded to 10, 50 or 100 EUR (as people type them), half left odd."""
    step = rng.choice(np.array([10.0, 50.0, 100.0]), len(amount))
    rounded = np.maximum(np.round(amount / step) * step, step)
    return np.where(rng.random(len(amount)) < ROUND_SHARE, rounded, np.round(amount, 2))


def _between_people(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Friends and family pay each other: shared bills, loans and their repayment, gifts;
    heavy-tailed amounts (most a few tens of euros, a few thousands). Each person deals with a
    small circle of two to six people, in both directions (money lent comes back)."""
    circle = pick(rng, world.pools["person"], len(ents) * CIRCLE).reshape(len(ents), CIRCLE)
    size = rng.integers(2, CIRCLE + 1, len(ents))
    rate = rng.lognormal(np.log(0.8), 0.8, len(ents))
    out = []
    for sending in (True, False):
        e, m = events(rng, world, ents, rate)
        j = np.searchsorted(ents, e)
        other = circle[j, rng.integers(0, size[j])]
        amount = _roundish(rng, rng.lognormal(np.log(60), 1.2, len(e)))
        own = world.acc_primary[e]
        src, dst = (own, other) if sending else (other, own)
        keep = src != dst
        ts = when(rng, world, m[keep])
        out.append(Txns.make(src[keep], dst[keep], ts, amount[keep], "instant"))
    return out


def _freelance(rng: np.random.Generator, world: World, working: np.ndarray) -> Txns:
    """Freelance work beside a job: a few clients each, paid irregularly in odd amounts, more in
    some seasons than others."""
    who = working[rng.random(len(working)) < FREELANCE_SHARE]
    peak = rng.integers(0, 12, len(who))
    season = 1.0 + 0.8 * np.cos(2 * np.pi * (world.calendar_month[None, :] - peak[:, None]) / 12.0)
    base = rng.uniform(0.3, 2.0, len(who))
    lam = (base[:, None] * season).ravel()
    counts = rng.poisson(lam)
    e = np.repeat(np.repeat(who, world.months), counts)
    m = np.repeat(np.tile(np.arange(world.months), len(who)), counts)
    clients = np.stack(
        [
            pick(rng, world.pools["client_ext"], len(who)),
            pick(rng, world.pools["company"], len(who)),
            pick(rng, world.pools["client_ext"], len(who)),
        ],
        axis=1,
    )
    j = np.searchsorted(who, e)
    payer = clients[j, rng.integers(0, clients.shape[1], len(e))]
    amount = net_month(world, e) * rng.lognormal(np.log(0.15), 0.9, len(e))
    return Txns.make(payer, world.acc_primary[e], when(rng, world, m), np.round(amount, 2), "wire")


def _bursts(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Once-in-a-while events: a car sold to a private buyer (one large round sum), a wedding
    (gifts from many guests within days, then the caterer and the venue), an inheritance (a
    large wire from a notary, part of it passed on to relatives or savings)."""
    years = world.months / 12
    out: list[Txns] = []
    car = ents[rng.random(len(ents)) < CAR_SALE * years]
    m = rng.integers(0, world.months, len(car))
    out.append(
        Txns.make(
            pick(rng, world.pools["person"], len(car)),
            world.acc_primary[car],
            when(rng, world, m),
            np.round(rng.lognormal(np.log(7_000), 0.6, len(car)) / 500) * 500 + 500,
            "wire",
        )
    )
    wed = ents[rng.random(len(ents)) < WEDDING * years]
    guests = rng.integers(15, 70, len(wed))
    day0 = when(rng, world, rng.integers(0, world.months, len(wed)))
    g = np.repeat(np.arange(len(wed)), guests)
    out.append(
        Txns.make(
            pick(rng, world.pools["person"], len(g)),
            world.acc_primary[wed[g]],
            day0[g] + rng.integers(0, 10 * DAY, len(g)),
            _roundish(rng, rng.lognormal(np.log(150), 0.7, len(g))),
            "instant",
        )
    )
    vendors = np.repeat(np.arange(len(wed)), rng.integers(3, 9, len(wed)))
    out.append(
        Txns.make(
            world.acc_primary[wed[vendors]],
            pick(rng, world.pools["merchant_ext"], len(vendors)),
            day0[vendors] + rng.integers(5 * DAY, 20 * DAY, len(vendors)),
            np.round(rng.lognormal(np.log(2_500), 0.7, len(vendors)), 2),
            "wire",
        )
    )
    heir = ents[rng.random(len(ents)) < INHERITANCE * years]
    day0 = when(rng, world, rng.integers(0, world.months, len(heir)))
    estate = np.round(rng.lognormal(np.log(40_000), 1.0, len(heir)), 2)
    out.append(
        Txns.make(
            pick(rng, world.pools["notary"], len(heir)),
            world.acc_primary[heir],
            day0,
            estate,
            "wire",
        )
    )
    shares = np.repeat(np.arange(len(heir)), rng.integers(1, 5, len(heir)))
    out.append(
        Txns.make(
            world.acc_primary[heir[shares]],
            pick(rng, world.pools["person"], len(shares)),
            day0[shares] + rng.integers(2 * DAY, 40 * DAY, len(shares)),
            np.round(estate[shares] * rng.uniform(0.05, 0.3, len(shares)), -2),
            "wire",
        )
    )
    return [t.take(t.ts < world.end_s) for t in out]


def _customers(rng: np.random.Generator, world: World, comp: np.ndarray) -> Txns:
    """Companies paid directly by many private customers (instant transfers for services,
    deposits, subscriptions): fan-in from many payers with varied amounts."""
    rate = rng.lognormal(np.log(15), 1.0, len(comp)) * (world.arch[comp] == Arch.ORDINARY_COMPANY)
    e, m = events(rng, world, comp, rate)
    return Txns.make(
        pick(rng, world.pools["person"], len(e)),
        world.acc_primary[e],
        when(rng, world, m),
        _roundish(rng, rng.lognormal(np.log(120), 1.0, len(e))),
        "instant",
    )


def _family_loans(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """A person lends a relative a sum, repaid in one to four monthly instalments from a few
    weeks later: the same money goes out and comes back (an honest round trip)."""
    lender = ents[rng.random(len(ents)) < FAMILY_LOAN * world.months / 12]
    other = pick(rng, world.pools["person"], len(lender))
    lender, other = (
        lender[world.acc_primary[lender] != other],
        other[world.acc_primary[lender] != other],
    )
    lent = when(rng, world, rng.integers(0, world.months, len(lender)))
    amount = _roundish(rng, rng.lognormal(np.log(1_500), 0.8, len(lender)))
    parts = rng.integers(1, 5, len(lender))
    i = np.repeat(np.arange(len(lender)), parts)
    k = np.arange(len(i)) - np.repeat(np.cumsum(parts) - parts, parts)
    first = rng.integers(14 * DAY, 60 * DAY, len(lender))
    back = lent[i] + first[i] + k * 30 * DAY + rng.integers(-3 * DAY, 3 * DAY, len(i))
    loan = Txns.make(world.acc_primary[lender], other, lent, amount, "instant")
    repaid = Txns.make(
        other[i], world.acc_primary[lender[i]], back, amount[i] / parts[i], "instant"
    )
    return [loan, repaid.take(repaid.ts < world.end_s)]


def _flat_shares(rng: np.random.Generator, world: World, ents: np.ndarray) -> Txns:
    """Flatmates pay one of them their share of the rent in the first days of each month; the
    collector pays the landlord with the rest of their own rent (a fan-in repeated monthly)."""
    renters = ents[world.landlord[ents] >= 0]
    who = renters[rng.random(len(renters)) < FLAT_SHARE]
    mates = rng.integers(1, 4, len(who))
    flatmates = pick(rng, world.pools["person"], int(mates.sum()))
    share = (net_month(world, who) * rng.uniform(0.15, 0.3, len(who))).clip(150.0, 1_200.0)
    g = np.repeat(np.arange(len(who)), mates)
    e, m = np.repeat(g, world.months), np.tile(np.arange(world.months), len(g))
    payer = np.repeat(flatmates, world.months)
    amount = np.round(share[e] * rng.normal(1.0, 0.02, len(e)), 2)
    keep = payer != world.acc_primary[who[e]]
    ts = when(rng, world, m[keep], 0, 5)
    return Txns.make(payer[keep], world.acc_primary[who[e[keep]]], ts, amount[keep], "instant")


def honest_variety(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Money between people, freelance incomes, life's bursts, companies' customers, family
    loans repaid and flatmates' shares of the rent."""
    persons = ents[~world.is_company[ents]]
    working = persons[np.isin(world.arch[persons], [Arch.SALARIED, Arch.HIGH_EARNER])]
    return [
        *_between_people(rng, world, persons),
        _freelance(rng, world, working),
        *_bursts(rng, world, persons),
        _customers(rng, world, ents[world.is_company[ents]]),
        *_family_loans(rng, world, persons),
        _flat_shares(rng, world, persons),
    ]
