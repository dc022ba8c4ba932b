"""Calibration of the model's raw output into a probability that keeps its order.

Centred isotonic regression (Oron and Flournoy, 2017) on the validation split, in the log-odds
of the raw output: pool-adjacent-violators gives blocks of validation entities of increasing
laundering share; each block becomes one knot at its members' mean raw log-odds, and the
probability is interpolated linearly between knots, so it is strictly increasing in the raw
output (a step function would tie every entity of a block, as the plain isotonic fit did).

The end blocks hold the fewest honest facts: their share is the Jeffreys posterior mean
``(k + 0.5) / (n + 1)`` (a block of 40 positives out of 40 supports 0.988, not 1), and beyond
the end knots the probability approaches a bound strictly inside (0, 1) without reaching it:
the one-sided Jeffreys limit of the end block at :data:`BOUND_LEVEL`, approached hyperbolically
in log-odds (half the way at the end block's farthest member, never all of it). Probabilities
therefore never read 0 or 1 and never tie at the top, whatever the raw output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flowrisk.errors import InvalidParameter

__all__ = ["BOUND_LEVEL", "METHOD", "Calibration", "apply_calibration", "fit_calibration", "logit"]

METHOD = "centred-isotonic-1"  # what model.json calls this calibration
BOUND_LEVEL = 0.9  # one-sided level of the Jeffreys limit the tails approach
MIN_TAIL = 0.1  # smallest tail scale (raw log-odds): a slower approach keeps the far tail apart
_EDGE = 1e-15  # raw outputs are clipped this far from 0 and 1 before taking log-odds


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities, clipped away from 0 and 1 so every value is finite."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EDGE, 1 - _EDGE)
    return np.log(q) - np.log1p(-q)


@dataclass(frozen=True)
class Calibration:
    """Knots (raw log-odds, probability), both strictly increasing, the bounds the tails
    approach (``bounds[0] < y[0]``, ``y[-1] < bounds[1]``) and the tails' scales in raw
    log-odds (positive)."""

    x: np.ndarray
    y: np.ndarray
    bounds: tuple[float, float]
    tails: tuple[float, float]


@dataclass
class _Block:
    n: float
    k: float
    z_sum: float  # sum of members' raw log-odds (weighted by count)
    z_min: float
    z_max: float

    @property
    def share(self) -> float:
        return self.k / self.n

    def merged(self, other: _Block) -> _Block:
        return _Block(
            self.n + other.n,
            self.k + other.k,
            self.z_sum + other.z_sum,
            min(self.z_min, other.z_min),
            max(self.z_max, other.z_max),
        )


def _jeffreys(block: _Block) -> float:
    return (block.k + 0.5) / (block.n + 1)


def _blocks(raw: np.ndarray, labels: np.ndarray) -> list[_Block]:
    """Pool-adjacent-violators blocks of the validation entities, in raw order (equal raw
    outputs always share a block), merged until each share is strictly above the one before."""
    z = logit(raw)
    values, index, counts = np.unique(z, return_inverse=True, return_counts=True)
    positives = np.bincount(index, weights=labels.astype(np.float64), minlength=len(values))
    stack: list[_Block] = []
    for value, n, k in zip(values.tolist(), counts.tolist(), positives.tolist(), strict=True):
        block = _Block(float(n), float(k), value * n, value, value)
        while stack and stack[-1].share >= block.share:
            block = stack.pop().merged(block)
        stack.append(block)
    return stack


def _shrink_ends(blocks: list[_Block]) -> tuple[list[_Block], np.ndarray]:
    """The knot values: block shares, the end blocks' replaced by their Jeffreys mean, the
    end blocks merged inwards while that breaks the strict order."""
    while True:
        y = np.array([b.share for b in blocks])
        y[0] = _jeffreys(blocks[0])
        y[-1] = _jeffreys(blocks[-1])
        if len(blocks) == 1:
            return blocks, y
        if y[-1] <= y[-2]:
            blocks = [*blocks[:-2], blocks[-2].merged(blocks[-1])]
        elif y[0] >= y[1]:
            blocks = [blocks[0].merged(blocks[1]), *blocks[2:]]
        else:
            return blocks, y


def fit_calibration(raw: np.ndarray, labels: np.ndarray) -> Calibration:
    """Centred isotonic calibration of ``raw`` model outputs against 0/1 ``labels``."""
    from scipy.stats import beta

    raw = np.asarray(raw, dtype=np.float64)
    labels = np.asarray(labels)
    if raw.size == 0 or raw.shape != labels.shape:
        raise InvalidParameter("calibration", f"{raw.size} scores for {labels.size} labels")
    if not np.isfinite(raw).all():
        raise InvalidParameter("calibration", "the raw scores are not all finite")
    if labels.sum() == 0 or labels.sum() == labels.size:
        raise InvalidParameter("calibration", "the validation split needs both classes")
    blocks, y = _shrink_ends(_blocks(raw, labels))
    z = np.array([b.z_sum / b.n for b in blocks])
    low, top = blocks[0], blocks[-1]
    floor = float(beta.ppf(1 - BOUND_LEVEL, low.k + 0.5, low.n - low.k + 0.5))
    ceiling = float(beta.ppf(BOUND_LEVEL, top.k + 0.5, top.n - top.k + 0.5))
    if not floor < y[0]:  # a guard: the Jeffreys limit lies beyond its mean for real counts
        floor = y[0] / 2
    if not ceiling > y[-1]:
        ceiling = (y[-1] + 1) / 2
    tails = (_spread(z, low.z_min, 0), _spread(z, top.z_max, -1))
    return Calibration(x=z, y=y, bounds=(floor, ceiling), tails=tails)


def _spread(z: np.ndarray, edge: float, end: int) -> float:
    """The tail's scale: how far the end block reaches beyond its knot, in raw log-odds (the
    knots' smallest spacing, or 1, when the block is a single value), at least
    :data:`MIN_TAIL`."""
    reach = abs(edge - z[end])
    if reach <= 0:
        gaps = np.diff(z)
        reach = float(gaps.min()) if gaps.size else 1.0
    return max(float(reach), MIN_TAIL)


def apply_calibration(raw: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Calibrated probabilities of raw model outputs: linear in raw log-odds between knots,
    beyond them a hyperbolic approach, in log-odds, to the bounds."""
    z = logit(raw)
    zk = np.asarray(calibration.x, dtype=np.float64)
    y = np.asarray(calibration.y, dtype=np.float64)
    floor, ceiling = calibration.bounds
    low_scale, high_scale = calibration.tails
    p = np.interp(z, zk, y)
    above, below = z > zk[-1], z < zk[0]
    high, low = logit(np.array([ceiling, floor]))
    top, bottom = logit(y[[-1, 0]])
    p[above] = _sigmoid(high - (high - top) / (1 + (z[above] - zk[-1]) / high_scale))
    p[below] = _sigmoid(low + (bottom - low) / (1 + (zk[0] - z[below]) / low_scale))
    return p


def _sigmoid(g: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-g))
