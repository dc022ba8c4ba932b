"""Short-window typologies of the AML research generators (AMLSim, AMLworld): fan-in, fan-out,
cycle, scatter-gather, gather-scatter, bipartite, stacked bipartite and a random walk.

Each scheme is a small group of ordinary accounts of the world (people and companies who keep
their normal lives) that repeats its pattern over an active life of weeks to months (as the
research generators' schemes do): each play lasts 1 to 20 days, the plays follow one another at
a cadence of days to weeks, jittered, over ordinary wire and instant transfers, in amounts drawn
like the members' honest transfers: never round, never just under a reporting threshold.
Nothing but amounts, times and counterparties marks them, so they exist in a world reduced to a
plain edge list as in the full one. The plan's ``end_s`` is the end of the life (the labels say
when a member was active); intensity shortens the cadence (more plays in the same life).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowrisk.reference import thresholds
from flowrisk.schema import SHORT_WINDOW_TYPOLOGIES
from flowrisk.synth.flows.timing import net_month
from flowrisk.synth.typologies.base import in_chunk
from flowrisk.synth.world import CHANNEL, DAY, Arch, SchemePlan, Txns, World

__all__ = [
    "CADENCE_DAYS",
    "LIFE_DAYS",
    "MAX_DAYS",
    "SIZES",
    "honest_scale",
    "inject_short_window",
    "plan_short_window",
]

HOUR = 3600
MAX_DAYS = 20  # AMLworld's patterns last 1 to 20 days
LIFE_DAYS = (45, 240)  # a scheme's active life (lowest, highest), cut at the end of the period
CADENCE_DAYS = (3.0, 28.0)  # days between two plays at intensity one (lowest, highest)
JITTER = 0.3  # each gap between plays varies by up to this share of the cadence
# Members per group (lowest, highest) of each pattern; the first member is the hub, the source
# or the origin of the pattern.
SIZES: dict[str, tuple[int, int]] = {
    "fan_in": (4, 9),
    "fan_out": (4, 9),
    "cycle": (3, 6),
    "scatter_gather": (4, 7),
    "gather_scatter": (5, 9),
    "bipartite": (4, 8),
    "stacked_bipartite": (6, 9),
    "random_walk": (4, 7),
}
ORDINARY = (
    Arch.SALARIED,
    Arch.CASH_WORKER,
    Arch.RETIREE,
    Arch.STUDENT,
    Arch.HIGH_EARNER,
    Arch.CRYPTO_HOBBYIST,
    Arch.REMITTER,
    Arch.ORDINARY_COMPANY,
)

Leg = tuple[int, int, float, float]  # source member, destination member, hours after start, share
Shape = Callable[[np.random.Generator, int], list[Leg]]


def plan_short_window(typology: str) -> Callable[..., SchemePlan]:
    """The planner of one short-window typology: groups of free ordinary account holders."""
    if typology not in SHORT_WINDOW_TYPOLOGIES:
        raise ValueError(f"{typology!r} is not a short-window typology")

    def plan(
        rng: np.random.Generator, world: World, book: object, k: int, guilty: np.ndarray
    ) -> SchemePlan:
        lo, hi = SIZES[typology]
        eligible = (
            np.isin(world.arch, ORDINARY)
            & (world.acc_primary >= 0)
            & (world.closure_day < 0)
            & ~guilty
        )
        pool = np.flatnonzero(eligible)
        sizes = _group_sizes(rng, min(k, len(pool)), lo, hi)
        total = min(sum(sizes), len(pool))
        members = rng.choice(pool, total, replace=False).astype(np.int64)
        scheme = np.repeat(np.arange(len(sizes)), sizes)[:total].astype(np.int64)
        first = np.r_[0, np.flatnonzero(np.diff(scheme)) + 1] if total else scheme
        role = np.ones(total, dtype=np.int8)
        role[first] = 0
        life = _lives(rng, world, len(sizes), world.params.intensity(typology))
        return SchemePlan(
            entity=members,
            scheme=scheme,
            start_s=life["start_s"][scheme],
            role=role,
            extra={k: v[scheme] for k, v in life.items() if k != "start_s"},
            end_s=life["end_s"][scheme],
        )

    return plan


def _lives(
    rng: np.random.Generator, world: World, n_groups: int, intensity: float
) -> dict[str, np.ndarray]:
    """Each group's active life (start and end times, seconds), the length of one play (days)
    and its cadence (days between plays, shorter when the typology is more intense)."""
    period_days = (world.end_s - world.start_s) // DAY
    length = rng.integers(LIFE_DAYS[0], LIFE_DAYS[1] + 1, n_groups)
    first_day = rng.integers(0, max(period_days - LIFE_DAYS[0] // 2, 1), n_groups)
    start = world.start_s + first_day * DAY + rng.integers(8, 18, n_groups) * HOUR
    end = np.minimum(start + length * DAY, world.end_s)
    cadence = rng.uniform(*CADENCE_DAYS, n_groups) / max(intensity, 0.05)
    # a play ends before the next one can begin (the gap is jittered down to 1 - JITTER cadences)
    days = np.minimum(rng.integers(1, MAX_DAYS + 1, n_groups), (1.0 - JITTER) * cadence)
    days = np.maximum(days, 1.0)
    return {
        "start_s": start.astype(np.int64),
        "end_s": end.astype(np.int64),
        "days": days.astype(np.int64),
        "cadence": cadence,
    }


def _play_starts(rng: np.random.Generator, start: int, end: int, cadence: float) -> list[int]:
    """When each play of a group begins: from ``start``, one cadence apart (each gap jittered),
    up to ``end``; at least one play."""
    out, t = [start], float(start)
    while True:
        t += cadence * DAY * float(rng.uniform(1.0 - JITTER, 1.0 + JITTER))
        if t >= end:
            return out
        out.append(int(t))


def _group_sizes(rng: np.random.Generator, k: int, lo: int, hi: int) -> list[int]:
    """Group sizes in ``lo..hi`` adding up to ``k`` members (to more only when ``k`` is less than
    ``lo`` groups can absorb): drawn until they reach ``k``, then shrunk one by one."""
    sizes: list[int] = []
    while sum(sizes) < k:
        sizes.append(int(rng.integers(lo, hi + 1)))
    excess, i = sum(sizes) - k, 0
    while excess > 0 and any(s > lo for s in sizes):
        if sizes[i % len(sizes)] > lo:
            sizes[i % len(sizes)] -= 1
            excess -= 1
        i += 1
    return sizes


def honest_scale(world: World, ent: np.ndarray) -> np.ndarray:
    """A typical honest transfer of each entity (EUR): a fifth of a person's net monthly pay, a
    fiftieth of a company's monthly takings (the size of its invoices and supplier bills)."""
    person = net_month(world, ent) * 0.2
    company = world.revenue[ent] / 12.0 * 0.02
    scale = np.where(world.is_company[ent], company, person)
    return np.nan_to_num(scale, nan=300.0).clip(40.0, 20_000.0)


def _near_threshold(amount: np.ndarray) -> np.ndarray:
    """Mask of the amounts 'just under' a reporting threshold (``thresholds.toml``)."""
    t = thresholds()
    near = np.zeros(len(amount), dtype=bool)
    for limit in (t.cosi_cash_monthly, t.remittance_cash_per_operation, t.remittance_cash_monthly):
        near |= (amount >= t.near_threshold_fraction * limit) & (amount < limit)
    return near


def _off_thresholds(rng: np.random.Generator, amount: np.ndarray) -> np.ndarray:
    """Amounts moved out of every 'just under a threshold' band (when a group's draws could not
    avoid them) and off whole hundreds."""
    t = thresholds()
    out = amount.copy()
    near = _near_threshold(out)
    out[near] = out[near] / t.near_threshold_fraction * rng.uniform(1.05, 1.2, int(near.sum()))
    out = np.round(out, 2)
    whole = np.isclose(np.mod(out, t.round_amount_multiple), 0.0)
    out[whole] += rng.integers(1, 99, int(whole.sum())) / 100 + 1
    return out


def _fan(rng: np.random.Generator, n: int, inward: bool) -> list[Leg]:
    """Each other member pays the hub (inward) or is paid by it, at random times, in amounts
    that vary around one unit."""
    hours = rng.uniform(0, 1, n - 1)
    size = rng.lognormal(0.0, 0.3, n - 1)
    return [
        (o, 0, float(h), float(w)) if inward else (0, o, float(h), float(w))
        for o, h, w in zip(range(1, n), hours, size, strict=True)
    ]


def _shape_fan_in(rng: np.random.Generator, n: int) -> list[Leg]:
    """k distinct payers each pay the hub."""
    return _fan(rng, n, inward=True)


def _shape_fan_out(rng: np.random.Generator, n: int) -> list[Leg]:
    """The hub pays k distinct receivers."""
    return _fan(rng, n, inward=False)


def _chain(n: int, rng: np.random.Generator, closed: bool) -> list[Leg]:
    """Hops along the members in order, each later than the one before; back to the origin when
    ``closed``; each hop keeps 93-99 % of the money (fees, a cut)."""
    stops = [*range(n), 0] if closed else list(range(n))
    times = np.sort(rng.uniform(0, 1, len(stops) - 1))
    share, legs = 1.0, []
    for i in range(len(stops) - 1):
        legs.append((stops[i], stops[i + 1], float(times[i]), share))
        share *= float(rng.uniform(0.93, 0.99))
    return legs


def _shape_cycle(rng: np.random.Generator, n: int) -> list[Leg]:
    """Money goes round the ring and comes back to its origin."""
    return _chain(n, rng, closed=True)


def _shape_random_walk(rng: np.random.Generator, n: int) -> list[Leg]:
    """Money hops along a path of distinct accounts and does not come back."""
    return _chain(n, rng, closed=False)


def _layers(rng: np.random.Generator, sizes: list[int]) -> list[Leg]:
    """Every member of a layer pays every member of the next layer, layer after layer; the
    first layer's legs are one unit each and the money received is passed on."""
    bounds = np.r_[0, np.cumsum(sizes)]
    legs: list[Leg] = []
    steps = len(sizes) - 1
    received = float(sizes[1])  # what each member of the first layer sends in all
    for layer in range(steps):
        src = range(int(bounds[layer]), int(bounds[layer + 1]))
        dst = range(int(bounds[layer + 1]), int(bounds[layer + 2]))
        share = received / len(dst)
        for s in src:
            for d in dst:
                h = (layer + float(rng.uniform(0.0, 0.9))) / steps
                legs.append((s, d, h, share * float(rng.uniform(0.9, 1.1))))
        received = share * len(src) * float(rng.uniform(0.93, 0.99))
    return legs


def _shape_scatter_gather(rng: np.random.Generator, n: int) -> list[Leg]:
    """The source pays intermediaries, who each pay one sink."""
    return _layers(rng, [1, n - 2, 1])


def _shape_gather_scatter(rng: np.random.Generator, n: int) -> list[Leg]:
    """Several payers pay one hub, which pays several receivers (hub first in the group)."""
    n_in = (n - 1) // 2
    legs = _layers(rng, [n_in, 1, n - 1 - n_in])
    hub = n_in  # renumber so that the hub is member 0
    order = {hub: 0, **{i: i + 1 for i in range(n_in)}}
    return [(order.get(s, s), order.get(d, d), h, w) for s, d, h, w in legs]


def _shape_bipartite(rng: np.random.Generator, n: int) -> list[Leg]:
    """Every sender pays every receiver."""
    n_src = n // 2
    return _layers(rng, [n_src, n - n_src])


def _shape_stacked_bipartite(rng: np.random.Generator, n: int) -> list[Leg]:
    """Three layers, each member paying every member of the next layer."""
    a = n // 3
    b = (n - a) // 2
    return _layers(rng, [a, b, n - a - b])


SHAPES: dict[str, Shape] = {
    "fan_in": _shape_fan_in,
    "fan_out": _shape_fan_out,
    "cycle": _shape_cycle,
    "scatter_gather": _shape_scatter_gather,
    "gather_scatter": _shape_gather_scatter,
    "bipartite": _shape_bipartite,
    "stacked_bipartite": _shape_stacked_bipartite,
    "random_walk": _shape_random_walk,
}


def _group_legs(
    rng: np.random.Generator, world: World, typology: str, group: np.ndarray, life: dict[str, float]
) -> list[tuple[int, int, int, float]]:
    """Legs of one group (source entity, destination entity, time, amount) over its life: the
    pattern played within ``days`` at each of its play starts, in a fresh amount each time."""
    span = int(life["days"]) * DAY - 2 * HOUR
    base = float(np.median(honest_scale(world, group)))
    out = []
    last = int(life["end_s"]) - span  # every play ends within the life
    for start in _play_starts(rng, int(life["start_s"]), last, life["cadence"]):
        legs = SHAPES[typology](rng, len(group))
        shares = np.array([leg[3] for leg in legs])
        for _ in range(10):  # a value that leaves every leg off the thresholds' bands
            value = base * float(rng.lognormal(0.0, 0.5))
            if not _near_threshold(value * shares).any():
                break
        for (s, d, h, _), share in zip(legs, shares, strict=True):
            out.append((int(group[s]), int(group[d]), start + int(h * span), value * float(share)))
    return out


def inject_short_window(typology: str) -> Callable[..., list[Txns]]:
    """The injector of one short-window typology: each group whose first member lies in the
    chunk repeats its pattern over its life."""
    if typology not in SHAPES:
        raise ValueError(f"{typology!r} is not a short-window typology")

    def inject(
        rng: np.random.Generator, world: World, plan: SchemePlan, lo: int, hi: int
    ) -> list[Txns]:
        first = np.r_[0, np.flatnonzero(np.diff(plan.scheme)) + 1] if len(plan.scheme) else []
        bounds = np.r_[first, len(plan.scheme)]
        legs: list[tuple[int, int, int, float]] = []
        schemes: list[int] = []
        rows = set(in_chunk(plan, lo, hi).tolist())
        for g, f in enumerate(first):
            if int(f) not in rows:
                continue
            group = plan.entity[bounds[g] : bounds[g + 1]]
            if len(group) < 3:
                continue
            life = {
                "start_s": float(plan.start_s[f]),
                "end_s": float(plan.end_s[f]) if plan.end_s is not None else float(world.end_s),
                "days": float(plan.extra["days"][f]),
                "cadence": float(plan.extra["cadence"][f]),
            }
            new = _group_legs(rng, world, typology, group, life)
            legs += new
            schemes += [int(plan.scheme[f])] * len(new)
        if not legs:
            return []
        src, dst, ts, amount = (np.asarray(col) for col in zip(*legs, strict=True))
        channel = np.where(rng.random(len(ts)) < 0.5, CHANNEL["wire"], CHANNEL["instant"])
        return [
            Txns.make(
                world.acc_primary[src],
                world.acc_primary[dst],
                ts,
                _off_thresholds(rng, amount),
                channel.astype(np.int8),
                entity=src,
                scheme=np.asarray(schemes),
            )
        ]

    return inject
