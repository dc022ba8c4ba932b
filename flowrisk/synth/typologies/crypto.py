"""Crypto laundering: cash, on-ramp, own wallets, risky wallets, stablecoin hop, off-ramp."""

from __future__ import annotations

import numpy as np

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


def inject_crypto(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """One chain per episode; every hop is a transaction flagged with the scheme."""
    k = world.params.intensity("crypto")
    rows = in_chunk(plan, lo, hi)
    row, _, t0 = active_events(rng, world, plan, rows, np.clip(1.2 * k, 0.3, 4.0))
    e = plan.entity[row]
    n = len(row)
    amount = rng.uniform(2_000, 9_500, n)
    primary, exchange = world.acc_primary[e], world.acc_exchange[e]
    wallet, wallet2 = world.acc_wallet[e], plan.extra["wallet2"][row]
    coin = CURRENCY["BTC"] + rng.integers(0, 2, n)
    usdt = CURRENCY["USDT"]
    out: list[Txns] = []

    def hop(
        mask: np.ndarray,
        src: np.ndarray,
        dst: np.ndarray,
        ts: np.ndarray,
        share: float,
        channel: str,
        currency: int | np.ndarray = 0,
    ) -> None:
        cur = currency[mask] if isinstance(currency, np.ndarray) else currency
        out.append(
            Txns.make(
                src[mask],
                dst[mask],
                ts[mask],
                amount[mask] * share,
                channel,
                currency=cur,
                entity=e[mask],
                scheme=plan.scheme[row][mask],
            )
        )

    every = np.ones(n, dtype=bool)
    cash = rng.random(n) < 0.6
    hop(cash, np.full(n, -1), primary, t0, 1.0, "cash")
    out[-1].branch[:] = rng.integers(0, N_BRANCHES, len(out[-1]))
    t1 = t0 + rng.integers(1, 3, n) * DAY
    hop(every, primary, exchange, t1, 0.98, "wire")
    t2 = t1 + rng.integers(1, 12, n) * HOUR
    hop(every, exchange, wallet, t2, 0.97, "crypto", coin)
    # the risky leg: mixers (out and back), darknet markets (proceeds in), sanctioned (out)
    kind = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    two_hop = rng.random(n) < 0.4
    relay = pick(rng, world.pools["wallet_plain"], n)
    mixer = pick(rng, world.pools["wallet_mixer"], n)
    darknet = pick(rng, world.pools["wallet_darknet"], n)
    sanctioned = pick(rng, world.pools["wallet_sanctioned"], n)
    risky = np.select([kind == 0, kind == 1], [mixer, darknet], sanctioned)
    t3 = t2 + rng.integers(2, 48, n) * HOUR
    outward = kind != 1
    hop(outward & two_hop, wallet, relay, t3, 0.96, "crypto", coin)
    hop(outward & two_hop, relay, risky, t3 + 6 * HOUR, 0.95, "crypto", coin)
    hop(outward & ~two_hop, wallet, risky, t3, 0.96, "crypto", coin)
    t4 = t3 + rng.integers(1, 4, n) * DAY
    hop(~outward, risky, wallet2, t4, 0.9, "crypto", coin)
    hop(kind == 0, risky, wallet2, t4, 0.9, "crypto", usdt)
    # stablecoin hop and off-ramp, through an offshore exchange half of the time
    back = kind != 2
    t5 = t4 + rng.integers(2, 24, n) * HOUR
    offshore = rng.random(n) < 0.5
    ramp = np.where(offshore, pick(rng, world.pools["exchange_risky"], n), exchange)
    hop(back, wallet2, ramp, t5, 0.88, "crypto", usdt)
    t6 = t5 + rng.integers(1, 5, n) * DAY
    bank = np.where(world.acc_second[e] >= 0, world.acc_second[e], primary)
    hop(back, ramp, bank, t6, 0.85, "wire")
    return out
