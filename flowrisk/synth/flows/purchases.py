"""Payments for the honest assets bought during the period, and the loans that fund some."""

from __future__ import annotations

import numpy as np

from flowrisk.synth.flows.timing import offsets, when
from flowrisk.synth.world import ASSET_TYPE, DAY, PAYMENT_METHOD, Txns, World, pick

__all__ = ["asset_purchases", "seller_of"]

LOAN_MONTHS = {"real_estate": 240, "other": 60}  # repayment term of a home loan, of the others
LOAN_COST = 1.25  # total repaid / amount borrowed


def seller_of(rng: np.random.Generator, world: World, kind: np.ndarray) -> np.ndarray:
    """A notary for property, a dealer for vehicles, a jeweller for the rest."""
    n = len(kind)
    return np.select(
        [kind == ASSET_TYPE["real_estate"], kind == ASSET_TYPE["vehicle"]],
        [pick(rng, world.pools["notary"], n), pick(rng, world.pools["dealer"], n)],
        pick(rng, world.pools["jeweller"], n),
    )


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
    seller = seller_of(rng, world, kind)
    acc = world.acc_primary[ent]
    out = [Txns.make(acc, seller, ts + 3 * DAY, value, "wire")]
    loan = method == PAYMENT_METHOD["loan"]
    lender = pick(rng, world.pools["lender"], int(loan.sum()))
    out.append(Txns.make(lender, acc[loan], ts[loan], value[loan], "wire"))
    # monthly repayments after the purchase
    months = np.searchsorted(world.month_start_s, ts[loan], side="right")
    rep_ent = np.repeat(np.arange(int(loan.sum())), world.months - np.minimum(months, world.months))
    if len(rep_ent):
        month = months[rep_ent] + offsets(rep_ent)
        home = kind[loan][rep_ent] == ASSET_TYPE["real_estate"]
        term = np.where(home, LOAN_MONTHS["real_estate"], LOAN_MONTHS["other"])
        out.append(
            Txns.make(
                acc[loan][rep_ent],
                lender[rep_ent],
                when(rng, world, month, 4, 6),
                value[loan][rep_ent] * LOAN_COST / term,
                "wire",
            )
        )
    return out
