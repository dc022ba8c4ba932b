"""Unexplained wealth: assets and lifestyle far above declared income, often hidden."""

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
from flowrisk.synth.world import DAY, AccountBook, Arch, SchemePlan, Txns, World

__all__ = ["WEALTH_FACTOR", "inject_unexplained_wealth", "plan_unexplained_wealth"]

# Assets bought during the period are worth at least WEALTH_FACTOR x intensity x yearly income.
WEALTH_FACTOR = 3.0
ASSET_MIX = np.array([0.35, 0.35, 0.2, 0.1])  # real estate, vehicle, luxury goods, boat
PAY_MIX = np.array([0.35, 0.0, 0.45, 0.2])  # cash, loan, transfer, crypto


def plan_unexplained_wealth(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Modest earners who buy 1-3 assets worth several years of income, some via relatives."""
    intensity = world.params.intensity("unexplained_wealth")
    eligible = ~world.is_company & np.isin(
        world.arch, [Arch.SALARIED, Arch.CASH_WORKER, Arch.REMITTER, Arch.RETIREE, Arch.STUDENT]
    )
    members = select_members(rng, eligible, k, guilty, overlap=0.3)
    n = len(members)
    plan = new_plan(rng, world, members, np.arange(n), min_months=2)
    income = np.maximum(world.income[members], 6_000.0)
    total = income * WEALTH_FACTOR * intensity * rng.uniform(1.0, 1.6, n)
    n_assets = rng.integers(1, 4, n)
    row = np.repeat(np.arange(n), n_assets)
    share = rng.gamma(2.0, 1.0, len(row))
    share /= np.bincount(row, weights=share)[row]
    kind = rng.choice(4, len(row), p=ASSET_MIX)
    method = rng.choice(4, len(row), p=PAY_MIX)
    start_day = plan.start_s[row] // DAY
    end_day = world.end_s // DAY - 10
    day = start_day + (rng.random(len(row)) * np.maximum(end_day - start_day, 1)).astype(np.int64)
    # who holds the asset on paper: the member, a relative, or a company the member controls
    holder = members[row].copy()
    u = rng.random(len(row))
    persons = np.flatnonzero(~world.is_company)
    companies = np.flatnonzero(world.arch == Arch.ORDINARY_COMPANY)
    via_relative = u < 0.2
    relatives = pick(rng, persons, int(via_relative.sum()))
    holder[via_relative] = relatives
    via_company = (u >= 0.2) & (u < 0.35) & (len(companies) > 0)
    fronts = pick(rng, companies, int(via_company.sum())) if len(companies) else holder[:0]
    holder[via_company] = fronts
    o = world.ownership
    new_links = {
        "owner": np.concatenate([members[row][via_relative], members[row][via_company]]),
        "owned": np.concatenate([relatives, fronts]),
        "role": np.concatenate(
            [np.full(len(relatives), 3, np.int8), np.zeros(len(fronts), np.int8)]
        ),
        "share": np.concatenate(
            [np.full(len(relatives), np.nan), np.round(rng.uniform(25, 100, len(fronts)), 1)]
        ),
        "since": np.concatenate(
            [
                np.full(len(relatives), -1, np.int32),
                (day[via_company] - rng.integers(30, 400, len(fronts))).astype(np.int32),
            ]
        ),
    }
    world.ownership = {key: np.concatenate([o[key], new_links[key]]) for key in o}
    plan.extra.update(
        asset_row=row,
        asset_holder=holder,
        asset_type=kind.astype(np.int8),
        asset_day=day.astype(np.int32),
        asset_value=np.round(total[row] * share, -2),
        asset_method=method.astype(np.int8),
        total=total,
    )
    return plan


def inject_unexplained_wealth(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Cash coming in from nowhere, payments for the assets, and a lavish card lifestyle."""
    rows = in_chunk(plan, lo, hi)
    x = plan.extra
    out: list[Txns] = []
    sel = np.isin(x["asset_row"], rows)
    a_row, a_holder = x["asset_row"][sel], x["asset_holder"][sel]
    a_day, a_value, a_method = x["asset_day"][sel], x["asset_value"][sel], x["asset_method"][sel]
    a_type = x["asset_type"][sel]
    ent = plan.entity[a_row]
    ts = a_day.astype(np.int64) * DAY + 11 * 3600
    seller = np.select(
        [a_type == 0, a_type == 1],
        [pick(rng, world.pools["notary"], len(ent)), pick(rng, world.pools["dealer"], len(ent))],
        pick(rng, world.pools["jeweller"], len(ent)),
    )
    # paid by transfer: from the holder's account when it is a company, else the member's
    by_transfer = a_method == 2
    payer = np.where(
        world.is_company[a_holder], world.acc_primary[a_holder], world.acc_primary[ent]
    )
    out.append(
        Txns.make(
            payer[by_transfer],
            seller[by_transfer],
            ts[by_transfer],
            a_value[by_transfer],
            "wire",
            entity=ent[by_transfer],
            scheme=plan.scheme[a_row[by_transfer]],
        )
    )
    # the transfers are funded by cash and wires from nowhere in the weeks before
    n_fund = rng.integers(3, 9, int(by_transfer.sum()))
    f = np.repeat(np.flatnonzero(by_transfer), n_fund)
    w = rng.gamma(2.0, 1.0, len(f))
    grp = np.repeat(np.arange(len(n_fund)), n_fund)
    w /= np.bincount(grp, weights=w)[grp]
    amount = a_value[f] * w * rng.uniform(0.6, 0.9)
    fund_ts = np.maximum(ts[f] - rng.integers(2, 45, len(f)) * DAY, world.start_s + 3600)
    cash = rng.random(len(f)) < 0.7
    src = np.where(cash, -1, pick(rng, world.pools["offshore_company"], len(f)))
    out.append(
        Txns.make(
            src,
            payer[f],
            fund_ts,
            amount,
            np.where(cash, 0, 1).astype(np.int8),
            branch=np.where(cash, rng.integers(0, N_BRANCHES, len(f)), -1),
            entity=ent[f],
            scheme=plan.scheme[a_row[f]],
        )
    )
    # paid in crypto from an exchange account when the member has one
    by_crypto = (a_method == 3) & (world.acc_exchange[ent] >= 0)
    out.append(
        Txns.make(
            world.acc_exchange[ent[by_crypto]],
            pick(rng, world.pools["wallet_plain"], int(by_crypto.sum())),
            ts[by_crypto],
            a_value[by_crypto],
            "crypto",
            currency=3,
            entity=ent[by_crypto],
            scheme=plan.scheme[a_row[by_crypto]],
        )
    )
    # lifestyle: luxury card spending well above what the income allows
    k = world.params.intensity("unexplained_wealth")
    row, _, ts = active_events(rng, world, plan, rows, 4.0 * k)
    e = plan.entity[row]
    amount = np.maximum(world.income[e], 6_000) / 12 * rng.uniform(0.15, 0.5, len(e))
    dst = np.where(
        rng.random(len(e)) < 0.5,
        pick(rng, world.pools["jeweller"], len(e)),
        pick(rng, world.pools["merchant_ext"], len(e)),
    )
    out.append(
        Txns.make(
            world.acc_primary[e],
            dst,
            ts,
            amount,
            "card",
            entity=e,
            scheme=plan.scheme[row],
        )
    )
    row, _, ts = active_events(rng, world, plan, rows, 2.0 * k)
    e = plan.entity[row]
    out.append(
        Txns.make(
            -1,
            world.acc_primary[e],
            ts,
            np.round(rng.uniform(1_500, 7_500, len(e)), -2),
            "cash",
            branch=rng.integers(0, N_BRANCHES, len(e)),
            entity=e,
            scheme=plan.scheme[row],
        )
    )
    return out
