"""Companies' ordinary trade: takings (cash deposits, card settlements, client invoices),
suppliers, rent, taxes, the owner's pay, and intra-group flows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowrisk.reference import sectors
from flowrisk.synth.flows.timing import branch, events, monthly, when
from flowrisk.synth.world import COUNTRY_CURRENCY, ROLE, Arch, Txns, World, pick

__all__ = ["company_flows", "group_flows"]

CARD_SETTLEMENTS = 8  # acquirer settlements a month for a shop
# banknotes: most deposits are rounded to ten euros, some to fifty or five hundred
BANKNOTE_STEPS = np.array([10.0, 50.0, 500.0])
BANKNOTE_SHARES = [0.75, 0.17, 0.08]


@dataclass(frozen=True)
class _Months:
    """One row per company and month: who, when, the account and that month's takings."""

    e: np.ndarray
    m: np.ndarray
    acc: np.ndarray
    shop: np.ndarray
    takings: np.ndarray
    cash: np.ndarray

    @property
    def card(self) -> np.ndarray:
        """Takings that are not cash: card settlements for shops, invoices for the others."""
        return self.takings - self.cash


def _months(rng: np.random.Generator, world: World, comp: np.ndarray) -> _Months:
    """Monthly takings, following the sector's seasonality as much as the company does."""
    seas = sectors()["seasonality"].to_numpy()  # (n_sectors, 12)
    e, m = monthly(world, comp)
    factor = 1.0 + world.seasonality_amp[e] * (seas[world.sector[e], world.calendar_month[m]] - 1)
    takings = world.revenue[e] / 12.0 * factor * rng.lognormal(0, 0.08, len(e))
    cash = takings * world.cash_share[e]
    shop = world.arch[e] == Arch.CASH_BUSINESS
    return _Months(e, m, world.acc_primary[e], shop, takings, cash)


def _cash_takings(rng: np.random.Generator, world: World, cm: _Months) -> Txns:
    """Cash takings, deposited a few times a month in uneven amounts, now and then at the
    second bank."""
    e = cm.e
    n_dep = np.where(cm.cash > 0, rng.poisson(np.where(cm.shop, 4.0, 0.5)) + cm.shop, 0)
    de = np.repeat(np.arange(len(e)), n_dep)
    w = rng.gamma(3.0, 1.0, len(de))
    w /= np.bincount(de, weights=w, minlength=len(e))[de]
    alt = world.acc_second[e[de]]
    dst = np.where((alt >= 0) & (rng.random(len(de)) < 0.2), alt, cm.acc[de])
    step = rng.choice(BANKNOTE_STEPS, len(de), p=BANKNOTE_SHARES)
    amount = np.maximum(np.round(cm.cash[de] * w / step) * step, 10.0)
    ts = when(rng, world, cm.m[de])
    return Txns.make(-1, dst, ts, amount, "cash", branch=branch(rng, world, e[de], 0.9))


def _card_takings(rng: np.random.Generator, world: World, cm: _Months) -> Txns:
    """Shops' card takings: acquirer settlements every few days."""
    ce = np.repeat(np.arange(len(cm.e)), np.where(cm.shop, CARD_SETTLEMENTS, 0))
    return Txns.make(
        pick(rng, world.pools["acquirer"], len(ce)),
        cm.acc[ce],
        when(rng, world, cm.m[ce]),
        cm.card[ce] / CARD_SETTLEMENTS * rng.lognormal(-0.02, 0.2, len(ce)),
        "card",
    )


def _invoices(rng: np.random.Generator, world: World, cm: _Months) -> Txns:
    """Client invoices of other companies: in-world companies, outside clients, partners
    abroad."""
    card = cm.card
    invoice = rng.lognormal(np.log(6_000), 0.6, len(cm.e))
    n_inv = np.where(cm.shop, 0, np.clip(np.round(card / invoice), 1, 15)).astype(np.int64)
    ie = np.repeat(np.arange(len(cm.e)), n_inv)
    u = rng.random(len(ie))
    src = np.select(
        [u < 0.35, u < 0.95],
        [
            pick(rng, world.pools["company"], len(ie)),
            pick(rng, world.pools["client_ext"], len(ie)),
        ],
        pick(rng, world.pools["foreign_partner"], len(ie)),
    )
    return Txns.make(
        src,
        cm.acc[ie],
        when(rng, world, cm.m[ie]),
        card[ie] / n_inv[ie] * rng.lognormal(-0.05, 0.3, len(ie)),
        "wire",
    )


def _suppliers(rng: np.random.Generator, world: World, cm: _Months) -> Txns:
    """Purchases: in-world companies, outside suppliers, a few abroad (some in watched
    countries)."""
    n_sup = rng.poisson(np.where(cm.shop, 3.0, 4.0)) + 1
    se = np.repeat(np.arange(len(cm.e)), n_sup)
    spend = cm.takings * world.supplier_ratio[cm.e]
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
    return Txns.make(
        cm.acc[se],
        dst,
        when(rng, world, cm.m[se]),
        spend[se] / n_sup[se] * rng.lognormal(-0.05, 0.3, len(se)),
        "wire",
        currency=COUNTRY_CURRENCY[world.accounts["country"][dst]],
    )


def _overheads(rng: np.random.Generator, world: World, cm: _Months) -> list[Txns]:
    """Rent, social charges and VAT, the owner's pay, and small cash withdrawals."""
    e, m, acc = cm.e, cm.m, cm.acc
    base = world.revenue[e] / 12.0
    out = [Txns.make(acc, world.landlord[e], when(rng, world, m, 0, 5), base * 0.06, "wire")]
    tax = pick(rng, world.pools["tax"], len(e))
    out.append(Txns.make(acc, tax, when(rng, world, m, 14, 16), cm.takings * 0.12, "wire"))
    owner_acc = world.acc_primary[world.owner[e]]
    ts = when(rng, world, m, 25, 28)
    out.append(Txns.make(acc, owner_acc, ts, base * rng.uniform(0.04, 0.08, len(e)), "wire"))
    we = np.repeat(np.arange(len(e)), rng.poisson(np.where(cm.shop, 0.6, 0.05)))
    out.append(
        Txns.make(
            acc[we],
            -1,
            when(rng, world, m[we]),
            np.round(rng.uniform(100, 1_000, len(we)), -1),
            "cash",
            branch=branch(rng, world, e[we], 0.9),
        )
    )
    return out


def company_flows(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Takings (cash deposits, card settlements, client wires), suppliers, rent, taxes, owners."""
    comp = ents[world.is_company[ents]]
    if len(comp) == 0:
        return []
    cm = _months(rng, world, comp)
    return [
        _cash_takings(rng, world, cm),
        _card_takings(rng, world, cm),
        _invoices(rng, world, cm),
        _suppliers(rng, world, cm),
        *_overheads(rng, world, cm),
    ]


def group_flows(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Intra-group fees to holdings and cash pooling back: honest cycles between companies."""
    o = world.ownership
    sel = (o["role"] == ROLE["shareholder"]) & np.isin(o["owned"], ents)
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
