"""What only some persons do: remittances home, crypto investing, investments abroad.

These honest habits look like typologies at first sight (cash-funded remittances, mixers,
offshore exchanges, wires abroad), which is what keeps the typologies from being trivial.
"""

from __future__ import annotations

import numpy as np

from flowrisk.synth.flows.timing import branch, events, net_month, when
from flowrisk.synth.world import COUNTRY_CURRENCY, CURRENCY, Arch, Txns, World, pick

__all__ = ["person_specials"]

REMITTANCE_CAP = 1_900  # honest remittances stay small (EUR per operation)
# some honest hobbyists gamble online, trade on offshore exchanges or value privacy (coin
# mixers): pool, share of wallet holders, mean monthly rate (which varies a lot per person)
RISKY_HABITS = (
    ("wallet_gambling", 0.12, 0.8),
    ("exchange_risky", 0.06, 0.5),
    ("wallet_mixer", 0.05, 0.4),
)


def _remittances(rng: np.random.Generator, world: World, rem: np.ndarray) -> list[Txns]:
    """Remittances to family abroad, through a transfer operator (mostly paid in cash) or the
    bank."""
    e, m = events(rng, world, rem, 1.3)
    amount = np.minimum(rng.lognormal(np.log(300), 0.6, len(e)), REMITTANCE_CAP)
    ts = when(rng, world, m)
    fam = world.family_abroad[e]
    currency = COUNTRY_CURRENCY[world.accounts["country"][fam]]
    via_mto = world.acc_mto[e] >= 0
    src = np.where(via_mto, world.acc_mto[e], world.acc_primary[e])
    sent = Txns.make(src, fam, ts, amount, "remittance", currency=currency)
    cash_in = via_mto & (rng.random(len(e)) < 0.8)
    paid_in = Txns.make(
        -1,
        world.acc_mto[e[cash_in]],
        ts[cash_in] - rng.integers(60, 1800, int(cash_in.sum())),
        np.ceil(amount[cash_in] / 10) * 10 + 10,
        "cash",
        branch=branch(rng, world, e[cash_in], 0.9),
    )
    return [sent, paid_in]


def _crypto_hobby(rng: np.random.Generator, world: World, hob: np.ndarray) -> list[Txns]:
    """Hobbyists buy on their exchange, move coins to and from their wallet, cash out now and
    then, and some have risky habits."""
    e, m = events(rng, world, hob, 1.5)
    on = rng.lognormal(np.log(250), 0.9, len(e))
    out = [Txns.make(world.acc_primary[e], world.acc_exchange[e], when(rng, world, m), on, "wire")]
    coin = CURRENCY["BTC"] + rng.integers(0, 4, len(hob))  # BTC, ETH, USDT, USDC
    wal = hob[world.acc_wallet[hob] >= 0]
    e, m = events(rng, world, wal, 0.5)
    out.append(
        Txns.make(
            world.acc_exchange[e],
            world.acc_wallet[e],
            when(rng, world, m),
            rng.lognormal(np.log(300), 0.9, len(e)),
            "crypto",
            currency=coin[np.searchsorted(hob, e)],
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
    return out + _risky_habits(rng, world, hob, wal, coin)


def _risky_habits(
    rng: np.random.Generator, world: World, hob: np.ndarray, wal: np.ndarray, coin: np.ndarray
) -> list[Txns]:
    """Honest payments to gambling wallets, offshore exchanges and mixers."""
    out = []
    for pool, share, rate in RISKY_HABITS:
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
    return out


def _investments_abroad(rng: np.random.Generator, world: World, rich: np.ndarray) -> Txns:
    """High earners wire money to partners in other countries."""
    e, m = events(rng, world, rich, 0.3)
    dst = pick(rng, world.pools["foreign_partner"], len(e))
    return Txns.make(
        world.acc_primary[e],
        dst,
        when(rng, world, m),
        net_month(world, e) * rng.uniform(0.2, 1.0, len(e)),
        "wire",
        currency=COUNTRY_CURRENCY[world.accounts["country"][dst]],
    )


def person_specials(rng: np.random.Generator, world: World, ents: np.ndarray) -> list[Txns]:
    """Remittances home, crypto investing and investments abroad."""
    arch = world.arch[ents]
    return [
        *_remittances(rng, world, ents[arch == Arch.REMITTER]),
        *_crypto_hobby(rng, world, ents[arch == Arch.CRYPTO_HOBBYIST]),
        _investments_abroad(rng, world, ents[arch == Arch.HIGH_EARNER]),
    ]
