"""Honest wealth: property and cars bought with loans or savings, watches, retirees' old homes.

High earners buy more often than salaried people; what they pay matches their income, which is
what sets them apart from the unexplained-wealth typology.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flowrisk.synth.world import ASSET_TYPE, PAYMENT_METHOD, Arch

__all__ = ["honest_assets"]

HOME, VEHICLE, WATCH = ASSET_TYPE["real_estate"], ASSET_TYPE["vehicle"], ASSET_TYPE["luxury_goods"]
LOAN, TRANSFER = PAYMENT_METHOD["loan"], PAYMENT_METHOD["transfer"]


@dataclass
class _Purchases:
    """Assets as parallel lists of arrays, one batch per kind of purchase."""

    rows: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {k: [] for k in ("entity", "type", "day", "value", "method")}
    )

    def add(
        self, who: np.ndarray, kind: int, day: np.ndarray, value: np.ndarray, method: np.ndarray
    ) -> None:
        self.rows["entity"].append(who)
        self.rows["type"].append(np.full(len(who), kind, np.int8))
        self.rows["day"].append(day.astype(np.int32))
        self.rows["value"].append(np.round(value, -2))
        self.rows["method"].append(method.astype(np.int8))

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.rows.items()}


def _loan_or_transfer(rng: np.random.Generator, n: int, loan_share: float) -> np.ndarray:
    return np.where(rng.random(n) < loan_share, LOAN, TRANSFER)


def _rich_purchases(
    rng: np.random.Generator,
    out: _Purchases,
    rich: np.ndarray,
    income: np.ndarray,
    day0: int,
    span: int,
) -> None:
    """High earners: homes (mostly on loan), cars, now and then a watch paid by transfer."""
    buyers = rich[rng.random(len(rich)) < 0.35]
    day = day0 + rng.integers(0, span, len(buyers))
    value = income[buyers] * rng.uniform(2.0, 7.0, len(buyers))
    out.add(buyers, HOME, day, value, _loan_or_transfer(rng, len(buyers), 0.8))
    cars = rich[rng.random(len(rich)) < 0.3]
    day = day0 + rng.integers(0, span, len(cars))
    value = income[cars] * rng.uniform(0.3, 0.9, len(cars))
    out.add(cars, VEHICLE, day, value, _loan_or_transfer(rng, len(cars), 0.5))
    watches = rich[rng.random(len(rich)) < 0.08]
    day = day0 + rng.integers(0, span, len(watches))
    value = rng.uniform(5_000, 30_000, len(watches))
    out.add(watches, WATCH, day, value, np.full(len(watches), TRANSFER))


def _salaried_purchases(
    rng: np.random.Generator,
    out: _Purchases,
    sal: np.ndarray,
    income: np.ndarray,
    day0: int,
    span: int,
) -> None:
    """Salaried people: a car now and then, more rarely a home on loan."""
    car_buyers = sal[rng.random(len(sal)) < 0.08]
    day = day0 + rng.integers(0, span, len(car_buyers))
    value = income[car_buyers] * rng.uniform(0.3, 1.0, len(car_buyers))
    out.add(car_buyers, VEHICLE, day, value, _loan_or_transfer(rng, len(car_buyers), 0.6))
    owners = sal[rng.random(len(sal)) < 0.03]
    day = day0 + rng.integers(0, span, len(owners))
    value = income[owners] * rng.uniform(4.0, 8.0, len(owners))
    out.add(owners, HOME, day, value, np.full(len(owners), LOAN))


def honest_assets(
    rng: np.random.Generator, arch: np.ndarray, income: np.ndarray, start_day: int, months: int
) -> dict[str, np.ndarray]:
    """Honest purchases during the period and retirees' homes bought long before it."""
    span = months * 30
    out = _Purchases()
    _rich_purchases(rng, out, np.flatnonzero(arch == Arch.HIGH_EARNER), income, start_day, span)
    sal = np.flatnonzero(np.isin(arch, [Arch.SALARIED, Arch.CRYPTO_HOBBYIST, Arch.REMITTER]))
    _salaried_purchases(rng, out, sal, income, start_day, span)
    ret = np.flatnonzero(arch == Arch.RETIREE)
    homes = ret[rng.random(len(ret)) < 0.6]
    day = start_day - rng.integers(5 * 365, 40 * 365, len(homes))
    value = rng.lognormal(np.log(220_000), 0.5, len(homes))
    out.add(homes, HOME, day, value, np.full(len(homes), LOAN))
    return out.arrays()
