"""Shared machinery of the typology injectors: choosing members, scheme periods, active months."""

from __future__ import annotations

import numpy as np

from flowrisk.synth.world import DAY, SchemePlan, World, pick

__all__ = [
    "active_events",
    "in_chunk",
    "new_plan",
    "pick",
    "select_members",
]


def select_members(
    rng: np.random.Generator,
    eligible: np.ndarray,
    k: int,
    guilty: np.ndarray,
    overlap: float = 0.2,
) -> np.ndarray:
    """Choose ``k`` eligible entities; about ``overlap`` of them already carry a typology.

    Returns sorted entity indices; fewer than ``k`` only when too few entities are eligible.
    """
    pool_guilty = np.flatnonzero(eligible & guilty)
    pool_clean = np.flatnonzero(eligible & ~guilty)
    k_over = min(round(k * overlap), len(pool_guilty))
    k_clean = min(k - k_over, len(pool_clean))
    k_over = min(k - k_clean, len(pool_guilty))
    chosen = np.concatenate(
        [
            rng.choice(pool_guilty, k_over, replace=False),
            rng.choice(pool_clean, k_clean, replace=False),
        ]
    ).astype(np.int64)
    return np.sort(chosen)


def new_plan(
    rng: np.random.Generator,
    world: World,
    members: np.ndarray,
    scheme: np.ndarray,
    min_months: int = 3,
    start_month: np.ndarray | None = None,
) -> SchemePlan:
    """A plan whose members start their scheme in a random month leaving ``min_months``."""
    months = world.months
    if start_month is None:
        latest = max(1, months - min_months + 1)
        start_month = rng.integers(0, latest, len(members))
    start_s = world.month_start_s[start_month] + rng.integers(0, 20, len(members)) * DAY
    return SchemePlan(
        entity=members,
        scheme=scheme.astype(np.int64),
        start_s=start_s.astype(np.int64),
        role=np.zeros(len(members), dtype=np.int8),
    )


def in_chunk(plan: SchemePlan, lo: int, hi: int) -> np.ndarray:
    """Positions in ``plan`` of the members whose entity lies in ``lo..hi-1``."""
    return np.flatnonzero((plan.entity >= lo) & (plan.entity < hi))


def active_events(
    rng: np.random.Generator,
    world: World,
    plan: SchemePlan,
    rows: np.ndarray,
    rate: float | np.ndarray,
    at_most: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson(rate) events per member and month (capped at ``at_most``), from the member's
    start on.

    Returns the plan row, the month and a timestamp inside the active part of that month.
    """
    months = world.months
    start_month = np.searchsorted(world.month_start_s, plan.start_s[rows], side="right") - 1
    lam = np.broadcast_to(np.asarray(rate, dtype=float).reshape(-1, 1), (len(rows), months))
    active = np.arange(months)[None, :] >= start_month[:, None]
    counts = rng.poisson(lam * active).ravel()
    if at_most is not None:
        counts = np.minimum(counts, at_most)
    row = np.repeat(np.repeat(rows, months), counts)
    month = np.repeat(np.tile(np.arange(months), len(rows)), counts)
    lo = np.maximum(world.month_start_s[month], plan.start_s[row])
    hi = world.month_start_s[month + 1]
    ts = lo + (rng.random(len(row)) * (hi - lo - 4 * DAY).clip(DAY)).astype(np.int64)
    return row, month, ts
