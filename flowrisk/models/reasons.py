"""Which reasons an explanation shows, and the evidence each carries, so that none contradicts
its own baseline and no evidence is cited twice.

A value sits on the *risky side* of its reference when it is beyond it in the direction the
catalog calls riskier (``Feature.direction``); the reference is the honest peers' median of the
entity's type (``RiskModel.peers``), or 0 for a z-score against the entity's sector. A feature
that raises the score from the honest side, or lowers it from the risky side, is left out for the
next reason: on generated worlds such pushes are not interactions one can name (setting every
risky-side value of the entity to its honest reference takes away none of them, 0 % at the
median), so "in combination with ..." would not read true either. Raises backed by the same red
flag are merged into the strongest. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from flowrisk.features import Feature
from flowrisk.models.scorer import RiskModel

__all__ = [
    "Choice",
    "choose_all",
    "evidence_of",
    "references",
    "risky_gap",
    "round_edge",
]

Flag = Mapping[str, Any]  # one red flag of an entity: flag, family, text, evidence


def references(
    model: RiskModel,
    features: Sequence[Feature],
    kinds: Sequence[str],
    sector_known: np.ndarray,
) -> np.ndarray:
    """Entities x features: the number each value is compared with (NaN when none is known).

    ``sector_known[i, j]`` is true where entity ``i`` has a sector value for feature ``j``'s
    baseline; a sector z-score is then compared with 0 (the sector), as its reason says."""
    out = np.full(sector_known.shape, np.nan)
    for kind in set(kinds):
        rows = np.array([k == kind for k in kinds])
        peers = model.peers.get(kind, {})
        medians = [peers[f.name][0] if f.name in peers else np.nan for f in features]
        out[rows] = np.asarray(medians, dtype=np.float64)
    z_sector = np.array([f.baseline is not None and f.unit == "z" for f in features])
    out[sector_known & z_sector] = 0.0
    return out


def risky_gap(features: Sequence[Feature], values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """How far each value sits beyond its reference on the risky side (> 0), or on the honest
    side (<= 0); NaN where the feature has no direction or no reference is known."""
    direction = np.array([f.direction for f in features], dtype=np.float64)
    direction[direction == 0] = np.nan
    return direction * (values - reference)


@dataclass
class Choice:
    """One entity's reasons: raises (grouped by family) then lowers, feature indices; and the
    raises merged into each shown raise."""

    shown: list[int]
    merged: dict[int, list[int]] = field(default_factory=dict)


@cache
def round_edge(decimals: int) -> float:
    """The smallest positive float that ``round(x, decimals)`` keeps above 0, so that comparing
    whole arrays with it says exactly what ``round`` says of each value (and, ``round`` being
    symmetric, ``round(x, decimals) < 0`` exactly where ``x <= -edge``)."""
    x = 0.5 * 10.0**-decimals
    while round(x, decimals) > 0:
        x = float(np.nextafter(x, 0.0))
    while not round(x, decimals) > 0:
        x = float(np.nextafter(x, 1.0))
    return x


def _first(order: np.ndarray, keep: np.ndarray, count: int) -> list[list[int]]:
    """Per row, the first ``count`` entries of ``order`` (column indices) where ``keep`` (in
    ``order``'s positions) holds, as lists (shorter where fewer hold)."""
    width = order.shape[1]
    positions = np.where(keep, np.arange(width), width)
    first = np.sort(positions, axis=1)[:, :count]
    picked = np.take_along_axis(order, np.minimum(first, width - 1), axis=1)
    return [[j for j in row if j >= 0] for row in np.where(first < width, picked, -1).tolist()]


def choose_all(
    c: np.ndarray,
    gap: np.ndarray,
    flag_of: Sequence[Mapping[int, str]],
    family_rank: np.ndarray,
    top_up: int,
    top_down: int,
    decimals: int,
    linked: int,
) -> list[Choice]:
    """:func:`choose` for every row of ``c`` (entities x features) at once: the sorting and the
    tests run on whole arrays, and only each row's few candidates go through Python. ``linked``
    bounds how many raises one row can merge (the features backed by a red flag)."""
    z = np.nan_to_num(c, nan=0.0)  # NaN (unknown) rounds to no reason either way
    edge = round_edge(decimals)
    up_order = np.argsort(-z, axis=1, kind="stable")
    up_ok = np.take_along_axis((z >= edge) & ~(gap <= 0), up_order, axis=1)
    down_order = np.argsort(z, axis=1, kind="stable")
    down_ok = np.take_along_axis((z <= -edge) & ~(gap > 0), down_order, axis=1)
    ups = _first(up_order, up_ok, top_up + linked)
    downs = _first(down_order, down_ok, top_down)
    out = []
    for i, candidates in enumerate(ups):
        up: list[int] = []
        choice = Choice(up)
        first_of: dict[str, int] = {}
        keys = flag_of[i]
        for j in candidates:
            if len(up) == top_up:
                break
            key = keys.get(j)
            if key is not None and key in first_of:
                choice.merged[first_of[key]].append(j)
                continue
            if key is not None:
                first_of[key] = j
            up.append(j)
            choice.merged[j] = []
        rank, row = family_rank[i], c[i]
        up.sort(key=lambda j: (rank[j], -row[j]))  # family first
        choice.shown = up + downs[i]
        out.append(choice)
    return out


def evidence_of(
    choice: Choice,
    features: Sequence[Feature],
    flag_of: Mapping[int, str],
    flags: Sequence[Flag],
) -> dict[int, list[str]]:
    """Evidence ids of each shown raise, each id cited once: a raise backed by a red flag
    carries the flag's; the first other raise of a family carries the family's remaining flags'."""
    by_flag = {f["flag"]: list(f["evidence"]) for f in flags}
    up = [j for j in choice.shown if j in choice.merged]
    claimed = {flag_of[j] for j in up if j in flag_of}
    used: set[str] = set()
    out: dict[int, list[str]] = {}

    def fresh(ids: Sequence[str]) -> list[str]:
        kept = [e for e in dict.fromkeys(ids) if e not in used]
        used.update(kept)
        return kept

    for j in up:
        if j in flag_of:
            out[j] = fresh(by_flag[flag_of[j]])
    cited: set[str] = set()
    for j in up:
        family = features[j].family
        if j in out or family in cited:
            out.setdefault(j, [])
            continue
        cited.add(family)
        rest = [f for f in flags if f["family"] == family and f["flag"] not in claimed]
        out[j] = fresh([e for f in rest for e in by_flag[f["flag"]]])
    return out
