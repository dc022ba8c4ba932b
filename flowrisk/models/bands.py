"""The share of entities in each band against what the alert budget set on validation data, and
the warning when a population drifts from it (for the model card and ``flowrisk score``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flowrisk.schema import BANDS

__all__ = ["SHARE_TOLERANCE", "BandShare", "band_shares", "band_targets", "drift_warning"]

# A band drifts when its share differs from its target by more than this fraction of the
# target (relative: 0.5 accepts 0.5% to 1.5% for a 1% target).
SHARE_TOLERANCE = 0.5


def band_targets(alert_budget: float) -> dict[str, float]:
    """The share of entities each band holds on validation data by construction: high and
    critical together the budget (critical its top quarter), medium up to five times it."""
    return {
        "low": 1 - 5 * alert_budget,
        "medium": 4 * alert_budget,
        "high": 0.75 * alert_budget,
        "critical": 0.25 * alert_budget,
    }


@dataclass(frozen=True)
class BandShare:
    """One band of a scored population: entities, their share, the target and whether the
    share is beyond :data:`SHARE_TOLERANCE` of it."""

    band: str
    entities: int
    share: float
    target: float
    drifted: bool


def band_shares(
    counts: Mapping[str, int], alert_budget: float, tolerance: float = SHARE_TOLERANCE
) -> list[BandShare]:
    """Each band's share of ``counts`` (band -> entities) against its target, lowest band first."""
    total = sum(counts.get(b, 0) for b in BANDS)
    targets = band_targets(alert_budget)
    out = []
    for band in BANDS:
        n = counts.get(band, 0)
        share = n / total if total else 0.0
        target = targets[band]
        out.append(BandShare(band, n, share, target, abs(share - target) > tolerance * target))
    return out


def drift_warning(shares: Sequence[BandShare], tolerance: float = SHARE_TOLERANCE) -> str | None:
    """The warning to print when a band's share drifted beyond the tolerance (None when none
    did)."""
    drifted = [s for s in shares if s.drifted]
    if not drifted:
        return None
    parts = ", ".join(f"{s.band} {s.share:.2%} (target {s.target:.2%})" for s in drifted)
    return (
        f"band shares drifted beyond {tolerance:.0%} of their targets (set by the alert budget "
        f"on validation data): {parts}; the population differs from the one the model was "
        "calibrated on, or the model needs retraining"
    )
