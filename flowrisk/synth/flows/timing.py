"""When ordinary events happen: Poisson counts per entity and month, timestamps inside a month,
the branch where cash changes hands, and a person's net monthly pay."""

from __future__ import annotations

import numpy as np

from flowrisk.synth.institutions import N_BRANCHES
from flowrisk.synth.world import DAY, World

__all__ = ["NET", "branch", "events", "monthly", "net_month", "offsets", "when"]

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


def branch(rng: np.random.Generator, world: World, ent: np.ndarray, home: float) -> np.ndarray:
    """The entity's home branch with probability ``home``, another branch otherwise."""
    other = rng.integers(0, N_BRANCHES, len(ent)).astype(np.int32)
    return np.where(rng.random(len(ent)) < home, world.home_branch[ent], other)


def net_month(world: World, ent: np.ndarray) -> np.ndarray:
    """Net monthly pay of persons, from their declared yearly income."""
    return world.income[ent] * NET / 12.0


def offsets(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array."""
    if len(groups) == 0:
        return groups
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, lengths)
