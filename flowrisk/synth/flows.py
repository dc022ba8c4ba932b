"""Ordinary financial life, drawn for a slice of entities: pay, rent, spending, savings, trade.

Every function is vectorised over the entities of the slice and the months of the period and
returns a :class:`Txns` batch. Rates are per entity and month.
"""

from __future__ import annotations

import numpy as np

from flowrisk.reference import sectors
from flowrisk.synth.institutions import N_BRANCHES
from flowrisk.synth.world import (
    COUNTRY_CURRENCY,
    CURRENCY,
    DAY,
    Arch,
    Txns,
    World,
    pick,
)

__all__ = ["events", "legit_transactions", "when"]

NET = 0.78  # net pay / gross declared income


def events(
    rng: np.random.Generator, world: World, ents: np.ndarray, rate: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(rate) events per entity and month: the entity and month of each event."""
    months = world.months
    lam = np.broadcast_to(np.asarray(rate, dtype=float).reshape(-1, 1), (len(ents), months))
    counts = rng.poisson(lam).ravel()
    ent = np.repeat(np.repeat(ents, months), counts)
    month = np.repeat(np.tile(np.arange(months), len(ents)), counts)
    return ent, month


def monthly(world: World, ents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exactly one event per entity and month."""
    months = world.months
    return np.repeat(ents, months), np.tile(np.arange(months), len(ents))


def when(
    rng: np.random.Generator,
    world: World,
    month: np.ndarray,
    day_lo: float | np.ndarray = 0.0,
    day_hi: float | np.ndarray | None = None,
) -> np.ndarray:
    """Timestamps (seconds) inside ``month`` between days ``day_lo`` and ``day_hi``, 7h-21h."""
    start = world.month_start_s[month]
    length_days = (world.month_start_s[month + 1] - start) // DAY
    hi = length_days if day_hi is None else np.minimum(day_hi, length_days)
    day = np.floor(rng.uniform(day_lo, hi)).astype(np.int64)
    second = rng.integers(7 * 3600, 21 * 3600, len(month))
    return start + day * DAY + second


def _branch(rng: np.random.Generator, world: World, ent: np.ndarray, home: float) -> np.ndarray:
    """The entity's home branch with probability ``home``, another branch otherwise."""
    other = rng.integers(0, N_BRANCHES, len(ent)).astype(np.int32)
    return np.where(rng.random(len(ent)) < home, world.home_branch[ent], other)


def _net_month(world: World, ent: np.ndarray) -> np.ndarray:
    return world.income[ent] * NET / 12.0


def person_income(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Salaries, pensions, allowances, cash earnings and small transfers from other people."""
    out: list[Txns] = []
    arch = world.arch[ents]
    paid = ents[
        np.isin(
            arch,
            [Arch.SALARIED, Arch.HIGH_EARNER, Arch.CRYPTO_HOBBYIST, Arch.REMITTER, Arch.RETIREE],
        )
    ]
    e, m = monthly(world, paid)
    retiree = world.arch[e] == Arch.RETIREE
    day_lo = np.where(retiree, 7, 24)
    ts = when(rng, world, m, day_lo, day_lo + 3)
    amount = _net_month(world, e) * rng.normal(1.0, 0.03, len(e))
    # honest pay is not one flat line all year: some change employer (with a raise), take up a
    # second job or get a bonus; without them any new regular payer would look like a mule's
    working = paid[world.arch[paid] != Arch.RETIREE]
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
    out.append(
        Txns.make(src, world.acc_primary[e], ts, amount * np.where(moved, raise_[i], 1.0), "wire")
    )
    if len(working):
        second = working[rng.random(len(working)) < 0.10]
        start = rng.integers(0, world.months, len(second))
        share = rng.uniform(0.1, 0.4, len(second))
        payer = world.employer[rng.choice(working, len(second))]
        e, m = monthly(world, second)
        j = np.searchsorted(second, e)
        on = m >= start[j]
        e, m, j = e[on], m[on], j[on]
        out.append(
            Txns.make(
                payer[j],
                world.acc_primary[e],
                when(rng, world, m, 0, 10),
                _net_month(world, e) * share[j] * rng.normal(1.0, 0.05, len(e)),
                "wire",
            )
        )
        bonus = working[rng.random(len(working)) < 0.35]
        month = rng.integers(0, world.months, len(bonus))
        out.append(
            Txns.make(
                world.employer[bonus],
                world.acc_primary[bonus],
                when(rng, world, month, 20, 28),
                _net_month(world, bonus) * rng.uniform(0.5, 1.5, len(bonus)),
                "wire",
            )
        )

    students = ents[arch == Arch.STUDENT]
    e, m = monthly(world, students)
    allowance = np.round(rng.uniform(150, 600, len(students)), -1)
    out.append(
        Txns.make(
            world.employer[e],
            world.acc_primary[e],
            when(rng, world, m, 0, 6),
            np.repeat(allowance, world.months),
            "instant",
        )
    )
    # a quarter of students and a few workers sell goods online: many small unrelated payers
    sellers = np.concatenate(
        [
            students[rng.random(len(students)) < 0.25],
            ents[(arch == Arch.SALARIED) & (rng.random(len(ents)) < 0.03)],
        ]
    )
    e, m = events(rng, world, sellers, rng.uniform(2, 12, len(sellers)))
    out.append(
        Txns.make(
            pick(rng, world.pools["person"], len(e)),
            world.acc_primary[e],
            when(rng, world, m),
            rng.lognormal(np.log(45), 0.7, len(e)),
            "instant",
        )
    )

    workers = ents[arch == Arch.CASH_WORKER]
    rate = rng.uniform(2, 7, len(workers))
    e, m = events(rng, world, workers, rate)
    per = rate[np.searchsorted(workers, e)]
    amount = np.maximum(
        np.round(_net_month(world, e) / per * rng.lognormal(0, 0.45, len(e)), -1), 20.0
    )
    out.append(
        Txns.make(
            -1,
            world.acc_primary[e],
            when(rng, world, m),
            amount,
            "cash",
            branch=_branch(rng, world, e, 0.8),
        )
    )
    e, m = events(rng, world, workers, 1.0)
    out.append(
        Txns.make(
            pick(rng, world.pools["person"], len(e)),
            world.acc_primary[e],
            when(rng, world, m),
            rng.lognormal(np.log(120), 0.6, len(e)),
            "instant",
        )
    )
    return out


def person_spending(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Card spending, cash withdrawals, rent, utilities, taxes and savings."""
    out: list[Txns] = []
    arch = world.arch[ents]
    income = _net_month(world, ents)
    card_rate = np.select([arch == Arch.STUDENT, arch == Arch.HIGH_EARNER], [3.0, 6.0], 4.0)
    e, m = events(rng, world, ents, card_rate)
    share = np.interp(world.income[e], [5_000, 30_000, 150_000], [0.45, 0.3, 0.2])
    rate = np.select(
        [world.arch[e] == Arch.STUDENT, world.arch[e] == Arch.HIGH_EARNER], [3.0, 6.0], 4.0
    )
    amount = _net_month(world, e) * share / rate * rng.lognormal(-0.18, 0.6, len(e))
    dst = np.where(
        rng.random(len(e)) < 0.92,
        pick(rng, world.pools["merchant_ext"], len(e)),
        pick(rng, world.pools["shop"], len(e)),
    )
    out.append(Txns.make(world.acc_primary[e], dst, when(rng, world, m), amount, "card"))

    wd_rate = np.select([arch == Arch.RETIREE, arch == Arch.CASH_WORKER], [1.3, 0.4], 0.8)
    e, m = events(rng, world, ents, wd_rate)
    amount = np.round(rng.lognormal(np.log(80), 0.6, len(e)) / 20) * 20 + 20
    out.append(
        Txns.make(
            world.acc_primary[e],
            -1,
            when(rng, world, m),
            amount,
            "cash",
            branch=_branch(rng, world, e, 0.6),
        )
    )

    renters = ents[world.landlord[ents] >= 0]
    rent = _net_month(world, renters) * 0.3 * rng.lognormal(0, 0.15, len(renters))
    rent = np.maximum(rent, 250)
    e, m = monthly(world, renters)
    out.append(
        Txns.make(
            world.acc_primary[e],
            world.landlord[e],
            when(rng, world, m, 0, 5),
            np.repeat(rent, world.months),
            "wire",
        )
    )

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

    savers = ents[world.acc_savings[ents] >= 0]
    savers = savers[world.arch[savers] != Arch.STUDENT]
    e, m = events(rng, world, savers, 0.6)
    out.append(
        Txns.make(
            world.acc_primary[e],
            world.acc_savings[e],
            when(rng, world, m),
            _net_month(world, e) * rng.uniform(0.05, 0.2, len(e)),
            "instant",
        )
    )
    return out


def person_specials(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Remittances home, crypto investing and investments abroad."""
    out: list[Txns] = []
    arch = world.arch[ents]
    rem = ents[arch == Arch.REMITTER]
    e, m = events(rng, world, rem, 1.3)
    amount = np.minimum(rng.lognormal(np.log(300), 0.6, len(e)), 1_900)
    ts = when(rng, world, m)
    fam = world.family_abroad[e]
    currency = COUNTRY_CURRENCY[world.accounts["country"][fam]]
    via_mto = world.acc_mto[e] >= 0
    src = np.where(via_mto, world.acc_mto[e], world.acc_primary[e])
    out.append(Txns.make(src, fam, ts, amount, "remittance", currency=currency))
    cash_in = via_mto & (rng.random(len(e)) < 0.8)
    out.append(
        Txns.make(
            -1,
            world.acc_mto[e[cash_in]],
            ts[cash_in] - rng.integers(60, 1800, int(cash_in.sum())),
            np.ceil(amount[cash_in] / 10) * 10 + 10,
            "cash",
            branch=_branch(rng, world, e[cash_in], 0.9),
        )
    )

    hob = ents[arch == Arch.CRYPTO_HOBBYIST]
    e, m = events(rng, world, hob, 1.5)
    on = rng.lognormal(np.log(250), 0.9, len(e))
    out.append(
        Txns.make(world.acc_primary[e], world.acc_exchange[e], when(rng, world, m), on, "wire")
    )
    coin = CURRENCY["BTC"] + rng.integers(0, 4, len(hob))  # BTC, ETH, USDT, USDC
    wal = hob[world.acc_wallet[hob] >= 0]
    e, m = events(rng, world, wal, 0.5)
    coins = coin[np.searchsorted(hob, e)]
    out.append(
        Txns.make(
            world.acc_exchange[e],
            world.acc_wallet[e],
            when(rng, world, m),
            rng.lognormal(np.log(300), 0.9, len(e)),
            "crypto",
            currency=coins,
        )
    )
    e, m = events(rng, world, wal, 0.3)
    out.append(
        Txns.make(
            world.acc_wallet[e],
            pick(rng, world.pools["wallet_plain"], len(e)),
            when(rng, world, m),
            rng.lognormal(np.log(120), 0.9, len(e)),
            "crypto",
            currency=coin[np.searchsorted(hob, e)],
        )
    )
    e, m = events(rng, world, hob, 0.4)
    out.append(
        Txns.make(
            world.acc_exchange[e],
            world.acc_primary[e],
            when(rng, world, m),
            rng.lognormal(np.log(400), 1.0, len(e)),
            "wire",
        )
    )
    # some honest hobbyists gamble online, trade on offshore exchanges or value privacy
    # (coin mixers); how often varies a lot from one person to the next
    for pool, share, rate in (
        ("wallet_gambling", 0.12, 0.8),
        ("exchange_risky", 0.06, 0.5),
        ("wallet_mixer", 0.05, 0.4),
    ):
        who = wal[rng.random(len(wal)) < share]
        e, m = events(rng, world, who, rate * rng.lognormal(0, 0.9, len(who)))
        out.append(
            Txns.make(
                world.acc_wallet[e],
                pick(rng, world.pools[pool], len(e)),
                when(rng, world, m),
                rng.lognormal(np.log(150), 0.8, len(e)),
                "crypto",
                currency=coin[np.searchsorted(hob, e)],
            )
        )

    rich = ents[arch == Arch.HIGH_EARNER]
    e, m = events(rng, world, rich, 0.3)
    dst = pick(rng, world.pools["foreign_partner"], len(e))
    out.append(
        Txns.make(
            world.acc_primary[e],
            dst,
            when(rng, world, m),
            _net_month(world, e) * rng.uniform(0.2, 1.0, len(e)),
            "wire",
            currency=COUNTRY_CURRENCY[world.accounts["country"][dst]],
        )
    )
    return out


def asset_purchases(rng: np.random.Generator, world: World, lo: int, hi: int) -> list[Txns]:
    """Payments for the honest assets bought during the period, and loan repayments."""
    a = world.assets
    start_day, end_day = world.start_s // DAY, world.end_s // DAY
    sel = (
        (a["entity"] >= lo)
        & (a["entity"] < hi)
        & (a["day"] >= start_day)
        & (a["day"] < end_day - 7)
    )
    ent, kind, day = a["entity"][sel], a["type"][sel], a["day"][sel].astype(np.int64)
    value, method = a["value"][sel], a["method"][sel]
    ts = day * DAY + rng.integers(9 * 3600, 17 * 3600, len(ent))
    seller = np.select(
        [kind == 0, kind == 1],
        [pick(rng, world.pools["notary"], len(ent)), pick(rng, world.pools["dealer"], len(ent))],
        pick(rng, world.pools["jeweller"], len(ent)),
    )
    acc = world.acc_primary[ent]
    out = [Txns.make(acc, seller, ts + 3 * DAY, value, "wire")]
    loan = method == 1
    lender = pick(rng, world.pools["lender"], int(loan.sum()))
    out.append(Txns.make(lender, acc[loan], ts[loan], value[loan], "wire"))
    # monthly repayments after the purchase
    months = np.searchsorted(world.month_start_s, ts[loan], side="right")
    rep_ent = np.repeat(np.arange(int(loan.sum())), world.months - np.minimum(months, world.months))
    if len(rep_ent):
        month = months[rep_ent] + _offsets(rep_ent)
        term = np.where(kind[loan][rep_ent] == 0, 240, 60)
        out.append(
            Txns.make(
                acc[loan][rep_ent],
                lender[rep_ent],
                when(rng, world, month, 4, 6),
                value[loan][rep_ent] * 1.25 / term,
                "wire",
            )
        )
    return out


def _offsets(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array."""
    if len(groups) == 0:
        return groups
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, lengths)


def company_flows(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Takings (cash deposits, card settlements, client wires), suppliers, rent, taxes, owners."""
    out: list[Txns] = []
    comp = ents[world.is_company[ents]]
    if len(comp) == 0:
        return out
    seas = sectors()["seasonality"].to_numpy()  # (n_sectors, 12)
    e, m = monthly(world, comp)
    factor = 1.0 + world.seasonality_amp[e] * (seas[world.sector[e], world.calendar_month[m]] - 1)
    takings = world.revenue[e] / 12.0 * factor * rng.lognormal(0, 0.08, len(e))
    cash = takings * world.cash_share[e]
    acc = world.acc_primary[e]

    # cash takings: deposited a few times a month, amounts split unevenly
    shop = world.arch[e] == Arch.CASH_BUSINESS
    n_dep = np.where(cash > 0, rng.poisson(np.where(shop, 4.0, 0.5)) + shop, 0)
    de = np.repeat(np.arange(len(e)), n_dep)
    w = rng.gamma(3.0, 1.0, len(de))
    w /= np.bincount(de, weights=w, minlength=len(e))[de]
    alt = world.acc_second[e[de]]
    dst = np.where((alt >= 0) & (rng.random(len(de)) < 0.2), alt, acc[de])
    # banknotes: most deposits are rounded to ten euros, some to fifty or five hundred
    step = rng.choice(np.array([10.0, 50.0, 500.0]), len(de), p=[0.75, 0.17, 0.08])
    amount = np.maximum(np.round(cash[de] * w / step) * step, 10.0)
    out.append(
        Txns.make(
            -1, dst, when(rng, world, m[de]), amount, "cash", branch=_branch(rng, world, e[de], 0.9)
        )
    )

    # card takings: acquirer settlements every few days for shops
    n_card = np.where(shop, 8, 0)
    ce = np.repeat(np.arange(len(e)), n_card)
    card = takings - cash
    out.append(
        Txns.make(
            pick(rng, world.pools["acquirer"], len(ce)),
            acc[ce],
            when(rng, world, m[ce]),
            card[ce] / 8 * rng.lognormal(-0.02, 0.2, len(ce)),
            "card",
        )
    )

    # client invoices for other companies: in-world companies, outside clients, partners abroad
    invoice = rng.lognormal(np.log(6_000), 0.6, len(e))
    n_inv = np.where(shop, 0, np.clip(np.round(card / invoice), 1, 15)).astype(np.int64)
    ie = np.repeat(np.arange(len(e)), n_inv)
    u = rng.random(len(ie))
    src = np.select(
        [u < 0.35, u < 0.95],
        [
            pick(rng, world.pools["company"], len(ie)),
            pick(rng, world.pools["client_ext"], len(ie)),
        ],
        pick(rng, world.pools["foreign_partner"], len(ie)),
    )
    out.append(
        Txns.make(
            src,
            acc[ie],
            when(rng, world, m[ie]),
            card[ie] / n_inv[ie] * rng.lognormal(-0.05, 0.3, len(ie)),
            "wire",
        )
    )

    # suppliers: in-world companies, outside suppliers, a few abroad (some in watched countries)
    n_sup = rng.poisson(np.where(shop, 3.0, 4.0)) + 1
    se = np.repeat(np.arange(len(e)), n_sup)
    spend = takings * world.supplier_ratio[e]
    u = rng.random(len(se))
    dst = np.select(
        [u < 0.45, u < 0.9, u < 0.97],
        [
            pick(rng, world.pools["supplier_company"], len(se)),
            pick(rng, world.pools["supplier_ext"], len(se)),
            pick(rng, world.pools["foreign_partner"], len(se)),
        ],
        pick(rng, world.pools["foreign_risky_partner"], len(se)),
    )
    out.append(
        Txns.make(
            acc[se],
            dst,
            when(rng, world, m[se]),
            spend[se] / n_sup[se] * rng.lognormal(-0.05, 0.3, len(se)),
            "wire",
            currency=COUNTRY_CURRENCY[world.accounts["country"][dst]],
        )
    )

    # rent, social charges and VAT, the owner's pay
    base = world.revenue[e] / 12.0
    out.append(Txns.make(acc, world.landlord[e], when(rng, world, m, 0, 5), base * 0.06, "wire"))
    out.append(
        Txns.make(
            acc,
            pick(rng, world.pools["tax"], len(e)),
            when(rng, world, m, 14, 16),
            takings * 0.12,
            "wire",
        )
    )
    owner_acc = world.acc_primary[world.owner[e]]
    out.append(
        Txns.make(
            acc,
            owner_acc,
            when(rng, world, m, 25, 28),
            base * rng.uniform(0.04, 0.08, len(e)),
            "wire",
        )
    )
    n_wd = rng.poisson(np.where(shop, 0.6, 0.05))
    we = np.repeat(np.arange(len(e)), n_wd)
    out.append(
        Txns.make(
            acc[we],
            -1,
            when(rng, world, m[we]),
            np.round(rng.uniform(100, 1_000, len(we)), -1),
            "cash",
            branch=_branch(rng, world, e[we], 0.9),
        )
    )
    return out


def group_flows(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Intra-group fees to holdings and cash pooling back: honest cycles between companies."""
    o = world.ownership
    sel = (o["role"] == 2) & np.isin(o["owned"], ents)
    sub, hold = o["owned"][sel], o["owner"][sel]
    e, m = monthly(world, np.arange(len(sub)))
    fee = world.revenue[sub[e]] / 12 * rng.uniform(0.01, 0.04, len(e))
    out = [
        Txns.make(
            world.acc_primary[sub[e]],
            world.acc_primary[hold[e]],
            when(rng, world, m, 20, 28),
            fee,
            "wire",
        )
    ]
    e, m = events(rng, world, np.arange(len(sub)), 0.25)
    out.append(
        Txns.make(
            world.acc_primary[hold[e]],
            world.acc_primary[sub[e]],
            when(rng, world, m),
            world.revenue[sub[e]] / 12 * rng.uniform(0.05, 0.3, len(e)),
            "wire",
        )
    )
    return out


def legit_transactions(rng: np.random.Generator, world: World, lo: int, hi: int) -> Txns:
    """All ordinary transactions of entities ``lo..hi-1``."""
    ents = np.arange(lo, hi, dtype=np.int64)
    persons = ents[~world.is_company[ents]]
    batches = [
        *person_income(rng, world, persons),
        *person_spending(rng, world, persons),
        *person_specials(rng, world, persons),
        *asset_purchases(rng, world, lo, hi),
        *company_flows(rng, world, ents),
        *group_flows(rng, world, ents),
    ]
    return Txns.concat(batches)
