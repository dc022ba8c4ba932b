"""Unexplained wealth: assets and lifestyle far above declared income, often hidden."""

from __future__ import annotations

import numpy as np

from flowrisk.synth.flows.purchases import seller_of
from flowrisk.synth.institutions import N_BRANCHES
from flowrisk.synth.typologies.base import (
    active_events,
    in_chunk,
    new_plan,
    pick,
    select_members,
)
from flowrisk.synth.world import (
    CHANNEL,
    CURRENCY,
    DAY,
    PAYMENT_METHOD,
    ROLE,
    AccountBook,
    Arch,
    SchemePlan,
    Txns,
    World,
)

__all__ = ["WEALTH_FACTOR", "inject_unexplained_wealth", "plan_unexplained_wealth"]

# Assets bought during the period are worth at least WEALTH_FACTOR x intensity x yearly income.
WEALTH_FACTOR = 3.0
ASSET_MIX = np.array([0.35, 0.35, 0.2, 0.1])  # real estate, vehicle, luxury goods, boat
PAY_MIX = np.array([0.35, 0.0, 0.45, 0.2])  # cash, loan, transfer, crypto


def _assets(
    rng: np.random.Generator, world: World, plan: SchemePlan, members: np.ndarray
) -> dict[str, np.ndarray]:
    """1-3 assets per member worth WEALTH_FACTOR x intensity x income or more in all, bought
    on random days between the member's start and the end of the period."""
    n = len(members)
    intensity = world.params.intensity("unexplained_wealth")
    income = np.maximum(world.income[members], 6_000.0)
    total = income * WEALTH_FACTOR * intensity * rng.uniform(1.0, 1.6, n)
    n_assets = rng.integers(1, 4, n)
    row = np.repeat(np.arange(n), n_assets)
    share = rng.gamma(2.0, 1.0, len(row))
    share /= np.bincount(row, weights=share)[row]
    kind = rng.choice(len(ASSET_MIX), len(row), p=ASSET_MIX)
    method = rng.choice(len(PAY_MIX), len(row), p=PAY_MIX)
    start_day = plan.start_s[row] // DAY
    end_day = world.end_s // DAY - 10
    day = start_day + (rng.random(len(row)) * np.maximum(end_day - start_day, 1)).astype(np.int64)
    return {
        "asset_row": row,
        "asset_type": kind.astype(np.int8),
        "asset_day": day.astype(np.int32),
        "asset_value": np.round(total[row] * share, -2),
        "asset_method": method.astype(np.int8),
        "total": total,
    }


def _holders(
    rng: np.random.Generator, world: World, members: np.ndarray, assets: dict[str, np.ndarray]
) -> np.ndarray:
    """Who holds each asset on paper: the member, a relative, or a company the member controls
    (the links are added to the world's ownership)."""
    row, day = assets["asset_row"], assets["asset_day"]
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
    r, f = len(relatives), len(fronts)
    new_links = {
        "owner": np.concatenate([members[row][via_relative], members[row][via_company]]),
        "owned": np.concatenate([relatives, fronts]),
        "role": np.concatenate(
            [np.full(r, ROLE["relative"], np.int8), np.full(f, ROLE["beneficial_owner"], np.int8)]
        ),
        "share": np.concatenate([np.full(r, np.nan), np.round(rng.uniform(25, 100, f), 1)]),
        "since": np.concatenate(
            [
                np.full(r, -1, np.int32),
                (day[via_company].astype(np.int64) - rng.integers(30, 400, f)).astype(np.int32),
            ]
        ),
    }
    o = world.ownership
    world.ownership = {key: np.concatenate([o[key], new_links[key]]) for key in o}
    return holder


def plan_unexplained_wealth(
    rng: np.random.Generator, world: World, book: AccountBook, k: int, guilty: np.ndarray
) -> SchemePlan:
    """Modest earners who buy 1-3 assets worth several years of income, some via relatives."""
    eligible = ~world.is_company & np.isin(
        world.arch, [Arch.SALARIED, Arch.CASH_WORKER, Arch.REMITTER, Arch.RETIREE, Arch.STUDENT]
    )
    members = select_members(rng, eligible, k, guilty, overlap=0.3)
    plan = new_plan(rng, world, members, np.arange(len(members)), min_months=2)
    assets = _assets(rng, world, plan, members)
    holder = _holders(rng, world, members, assets)
    plan.extra.update(asset_holder=holder, **assets)
    return plan


def _asset_payments(
    rng: np.random.Generator, world: World, plan: SchemePlan, rows: np.ndarray
) -> list[Txns]:
    """Assets paid by transfer (by a holding company or the member), funded beforehand by cash
    and wires from nowhere, or paid in crypto from the member's exchange account."""
    x = plan.extra
    sel = np.isin(x["asset_row"], rows)
    a_row, a_holder, a_value = x["asset_row"][sel], x["asset_holder"][sel], x["asset_value"][sel]
    a_method = x["asset_method"][sel]
    ent = plan.entity[a_row]
    ts = x["asset_day"][sel].astype(np.int64) * DAY + 11 * 3600
    seller = seller_of(rng, world, x["asset_type"][sel])
    by_transfer = a_method == PAYMENT_METHOD["transfer"]
    payer = np.where(
        world.is_company[a_holder], world.acc_primary[a_holder], world.acc_primary[ent]
    )
    t, scheme = by_transfer, plan.scheme[a_row]
    out = [
        Txns.make(payer[t], seller[t], ts[t], a_value[t], "wire", entity=ent[t], scheme=scheme[t])
    ]
    n_fund = rng.integers(3, 9, int(by_transfer.sum()))
    f = np.repeat(np.flatnonzero(by_transfer), n_fund)
    w = rng.gamma(2.0, 1.0, len(f))
    grp = np.repeat(np.arange(len(n_fund)), n_fund)
    w /= np.bincount(grp, weights=w)[grp]
    amount = a_value[f] * w * rng.uniform(0.6, 0.9)
    fund_ts = np.maximum(ts[f] - rng.integers(2, 45, len(f)) * DAY, world.start_s + 3600)
    cash = rng.random(len(f)) < 0.7
    src = np.where(cash, -1, pick(rng, world.pools["offshore_company"], len(f)))
    channel = np.where(cash, CHANNEL["cash"], CHANNEL["wire"]).astype(np.int8)
    branch = np.where(cash, rng.integers(0, N_BRANCHES, len(f)), -1)
    out.append(
        Txns.make(
            src, payer[f], fund_ts, amount, channel, branch=branch, entity=ent[f], scheme=scheme[f]
        )
    )
    c = (a_method == PAYMENT_METHOD["crypto"]) & (world.acc_exchange[ent] >= 0)
    out.append(
        Txns.make(
            world.acc_exchange[ent[c]],
            pick(rng, world.pools["wallet_plain"], int(c.sum())),
            ts[c],
            a_value[c],
            "crypto",
            currency=CURRENCY["USDT"],
            entity=ent[c],
            scheme=scheme[c],
        )
    )
    return out


def _lifestyle(
    rng: np.random.Generator, world: World, plan: SchemePlan, rows: np.ndarray
) -> list[Txns]:
    """Luxury card spending well above what the income allows, and cash from nowhere."""
    k = world.params.intensity("unexplained_wealth")
    row, _, ts = active_events(rng, world, plan, rows, 4.0 * k)
    e = plan.entity[row]
    amount = np.maximum(world.income[e], 6_000) / 12 * rng.uniform(0.15, 0.5, len(e))
    dst = np.where(
        rng.random(len(e)) < 0.5,
        pick(rng, world.pools["jeweller"], len(e)),
        pick(rng, world.pools["merchant_ext"], len(e)),
    )
    out = [
        Txns.make(world.acc_primary[e], dst, ts, amount, "card", entity=e, scheme=plan.scheme[row])
    ]
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


def inject_unexplained_wealth(
    rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
) -> list[Txns]:
    """Cash coming in from nowhere, payments for the assets, and a lavish card lifestyle."""
    rows = in_chunk(plan, lo, hi)
    return [*_asset_payments(rng, world, plan, rows), *_lifestyle(rng, world, plan, rows)]
