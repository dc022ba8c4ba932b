"""Crypto laundering: cash, on-ramp, own wallets, risky wallets, stablecoin hop, off-ramp."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flowrisk.reference import thresholds
from flowrisk.synth.institutions import EXCHANGES, INSTITUTION, N_BRANCHES
from flowrisk.synth.typologies.base import (
    active_events,
    in_chunk,
    new_plan,
    pick,
    select_members,
)
from flowrisk.synth.world import (
    COUNTRY,
    CURRENCY,
    DAY,
    AccountBook,
    Arch,
    SchemePlan,
    Txns,
    World,
    day_of,
)

__all__ = ["inject_crypto", "plan_crypto"]

HOUR = 3600


def plan_crypto(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Members get an exchange account and two self-hosted wallets (in and out)."""
    eligible = ~world.is_company & np.isin(
        world.arch, [Arch.SALARIED, Arch.CRYPTO_HOBBYIST, Arch.STUDENT, Arch.CASH_WORKER]
    )
    members = select_members(rng, eligible, k, guilty)
    n = len(members)
    plan = new_plan(rng, world, members, np.arange(n))
    start_day = day_of(world.params.start)
    need = members[world.acc_exchange[members] < 0]
    world.acc_exchange[need] = book.add(
        need,
        "crypto_exchange",
        INSTITUTION[EXCHANGES[0]] + rng.integers(0, len(EXCHANGES), len(need)),
        COUNTRY["FR"],
        start_day - rng.integers(10, 400, len(need)),
    )
    need = members[world.acc_wallet[members] < 0]
    world.acc_wallet[need] = book.add(
        need,
        "crypto_wallet",
        INSTITUTION["UNHOSTED"],
        COUNTRY["FR"],
        start_day - rng.integers(10, 400, len(need)),
    )
    plan.extra["wallet2"] = book.add(
        members,
        "crypto_wallet",
        INSTITUTION["UNHOSTED"],
        COUNTRY["FR"],
        start_day - rng.integers(10, 400, n),
    )
    return plan


@dataclass
class _Chains:
    """One laundering chain per episode: its member, amount and coin, and the hops so far."""

    e: np.ndarray
    amount: np.ndarray
    scheme: np.ndarray
    coin: np.ndarray
    hops: list[Txns] = field(default_factory=list)

    def hop(
        self,
        mask: np.ndarray,
        src: np.ndarray,
        dst: np.ndarray,
        ts: np.ndarray,
        share: float,
        channel: str,
        currency: int | np.ndarray = 0,
    ) -> Txns:
        """Add the hop of the chains in ``mask``, moving ``share`` of their amount."""
        cur = currency[mask] if isinstance(currency, np.ndarray) else currency
        txns = Txns.make(
            src[mask],
            dst[mask],
            ts[mask],
            self.amount[mask] * share,
            channel,
            currency=cur,
            entity=self.e[mask],
            scheme=self.scheme[mask],
        )
        self.hops.append(txns)
        return txns


def _risky_leg(
    rng: np.random.Generator,
    world: World,
    c: _Chains,
    wallet: np.ndarray,
    wallet2: np.ndarray,
    t2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mixers (out and back), darknet markets (in) or sanctioned wallets (out), some via a relay:
    each chain's kind (0 mixer, 1 darknet, 2 sanctioned) and the time its coins come back."""
    n = len(c.e)
    kind = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    two_hop = rng.random(n) < 0.4
    relay = pick(rng, world.pools["wallet_plain"], n)
    mixer = pick(rng, world.pools["wallet_mixer"], n)
    darknet = pick(rng, world.pools["wallet_darknet"], n)
    sanctioned = pick(rng, world.pools["wallet_sanctioned"], n)
    risky = np.select([kind == 0, kind == 1], [mixer, darknet], sanctioned)
    t3 = t2 + rng.integers(2, 48, n) * HOUR
    outward = kind != 1
    c.hop(outward & two_hop, wallet, relay, t3, 0.96, "crypto", c.coin)
    c.hop(outward & two_hop, relay, risky, t3 + 6 * HOUR, 0.95, "crypto", c.coin)
    c.hop(outward & ~two_hop, wallet, risky, t3, 0.96, "crypto", c.coin)
    t4 = t3 + rng.integers(1, 4, n) * DAY
    c.hop(~outward, risky, wallet2, t4, 0.9, "crypto", c.coin)
    c.hop(kind == 0, risky, wallet2, t4, 0.9, "crypto", CURRENCY["USDT"])
    return kind, t4


def inject_crypto(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """One chain per episode (cash, on-ramp, own wallet, risky leg, stablecoin hop, off-ramp);
    every hop is a transaction of the scheme."""
    k = world.params.intensity("crypto")
    rows = in_chunk(plan, lo, hi)
    row, _, t0 = active_events(rng, world, plan, rows, np.clip(1.2 * k, 0.3, 4.0))
    e = plan.entity[row]
    n = len(row)
    cosi = thresholds().cosi_cash_monthly  # an episode's cash stays under the monthly report
    amount = rng.uniform(0.2 * cosi, 0.95 * cosi, n)
    primary, exchange = world.acc_primary[e], world.acc_exchange[e]
    wallet, wallet2 = world.acc_wallet[e], plan.extra["wallet2"][row]
    c = _Chains(e, amount, plan.scheme[row], CURRENCY["BTC"] + rng.integers(0, 2, n))
    cash = rng.random(n) < 0.6
    paid_in = c.hop(cash, np.full(n, -1), primary, t0, 1.0, "cash")
    paid_in.branch[:] = rng.integers(0, N_BRANCHES, len(paid_in))
    t1 = t0 + rng.integers(1, 3, n) * DAY
    c.hop(np.ones(n, dtype=bool), primary, exchange, t1, 0.98, "wire")
    t2 = t1 + rng.integers(1, 12, n) * HOUR
    c.hop(np.ones(n, dtype=bool), exchange, wallet, t2, 0.97, "crypto", c.coin)
    kind, t4 = _risky_leg(rng, world, c, wallet, wallet2, t2)
    # stablecoin hop and off-ramp, through an offshore exchange half of the time
    back = kind != 2
    t5 = t4 + rng.integers(2, 24, n) * HOUR
    offshore = rng.random(n) < 0.5
    ramp = np.where(offshore, pick(rng, world.pools["exchange_risky"], n), exchange)
    c.hop(back, wallet2, ramp, t5, 0.88, "crypto", CURRENCY["USDT"])
    t6 = t5 + rng.integers(1, 5, n) * DAY
    bank = np.where(world.acc_second[e] >= 0, world.acc_second[e], primary)
    c.hop(back, ramp, bank, t6, 0.85, "wire")
    return c.hops
