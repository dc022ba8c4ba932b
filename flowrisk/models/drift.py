"""Feature drift: how far a scored population's features have moved from the data the model
was built on, as a population stability index (PSI) per feature.

The training reference travels with the model: per feature, bin edges (the deciles of the
reference rows, duplicates merged) and the share of those rows in each bin, plus one bin for
missing values. The reference rows are the last snapshot of the training data: the held-out
entities at the latest date the model was built on, the population its held-out metrics were
measured on (:func:`reference_of`; features only, never labels). An earlier snapshot would flag
the calendar rather than the population: on a 12-month generated world a 365-day window is
still filling up (median ``timing_active_days_365d`` of a 2,000-entity world: 124 on 2025-11-01,
149 on 2026-01-01, PSI 1.05 for the very same entities).

Bins are right-closed, ``(-inf, e0], (e0, e1], ..., (e_last, inf)``, so a value sitting on a
point mass (a count of 0, say) falls in one bin on both sides. Scoring counts rows per bin
partition by partition (:func:`bin_counts`); counts add up (:func:`merge_counts`), so the whole
population's PSI needs no second read of the data.

``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over the bins, ``a`` the scored shares and ``e``
the reference shares, each raised to :data:`EPSILON` (1e-4) when smaller, so that a bin empty on
one side contributes a large but finite term. Every term is >= 0 (both factors share a sign),
so PSI >= 0, and it is 0 for identical shares. Conventional reading: below 0.1 stable, 0.1 to
0.25 a moderate shift, above :data:`DRIFT_THRESHOLD` (0.25) a shift worth a look before trusting
the scores. Pure: arrays and frames in, numbers out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.models.dataset import Split

__all__ = [
    "DECILES",
    "DRIFT_THRESHOLD",
    "EPSILON",
    "TOP_DRIFTING",
    "Counts",
    "Drift",
    "DriftReference",
    "FeatureReference",
    "bin_counts",
    "drift_report",
    "fit_reference",
    "merge_counts",
    "psi",
    "reference_of",
    "skipped",
]

EPSILON = 1e-4  # smallest share a bin counts with (an empty bin would make ln(a/e) infinite)
DRIFT_THRESHOLD = 0.25  # PSI above this: the feature's population has shifted markedly
TOP_DRIFTING = 5  # drifting features a warning names
DECILES = tuple(q / 10 for q in range(1, 10))

Counts = dict[str, np.ndarray]  # feature -> rows per bin (the missing bin last)


@dataclass(frozen=True)
class FeatureReference:
    """One feature's training distribution: inner bin edges (increasing) and the share of
    training rows per bin, ``len(edges) + 1`` value bins then the missing bin."""

    edges: np.ndarray
    shares: np.ndarray

    def bins(self, values: np.ndarray) -> np.ndarray:
        """Rows per bin of ``values`` (NaN counts as missing)."""
        missing = np.isnan(values)
        index = np.searchsorted(self.edges, values[~missing], side="left")
        counts = np.bincount(index, minlength=len(self.edges) + 1)
        return np.append(counts, int(missing.sum())).astype(np.int64)


@dataclass(frozen=True)
class DriftReference:
    """The training reference of a model: per feature its bins and shares, how many training
    rows they were counted on and the snapshot they come from."""

    features: dict[str, FeatureReference]
    rows: int
    as_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the model bundle stores)."""
        return {
            "rows": self.rows,
            "as_of": self.as_of,
            "epsilon": EPSILON,
            "features": {
                name: {"edges": ref.edges.tolist(), "shares": ref.shares.tolist()}
                for name, ref in self.features.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReference:
        """The reference :meth:`to_dict` wrote; a feature whose shares do not match its edges
        is refused, naming it."""
        features = {}
        for name, ref in data["features"].items():
            edges = np.asarray(ref["edges"], dtype=np.float64)
            shares = np.asarray(ref["shares"], dtype=np.float64)
            if len(shares) != len(edges) + 2:
                raise InvalidParameter(
                    f"drift reference[{name}]",
                    f"{len(edges)} edges need {len(edges) + 2} shares, got {len(shares)}",
                )
            features[name] = FeatureReference(edges, shares)
        return cls(features, int(data["rows"]), data.get("as_of"))


@dataclass(frozen=True)
class Drift:
    """What ``run.json`` records about drift: PSI per feature (largest first), the features
    above the threshold, or why it was skipped."""

    status: str  # "computed" or "skipped"
    note: str | None = None
    threshold: float = DRIFT_THRESHOLD
    epsilon: float = EPSILON
    reference_rows: int | None = None
    reference_as_of: str | None = None
    scored_rows: int | None = None
    max_psi: float | None = None
    drifting: list[str] = field(default_factory=list)  # above threshold, largest PSI first
    psi: dict[str, float] = field(default_factory=dict)

    def top(self, count: int = TOP_DRIFTING) -> list[tuple[str, float]]:
        """The ``count`` features that drifted most past the threshold, with their PSI."""
        return [(name, self.psi[name]) for name in self.drifting[:count]]


def _values(profiles: pl.DataFrame, name: str) -> np.ndarray:
    return profiles[name].cast(pl.Float64).to_numpy().astype(np.float64)


def fit_reference(
    profiles: pl.DataFrame, features: Sequence[str], as_of: str | None = None
) -> DriftReference:
    """The reference of ``features`` on training ``profiles`` (one row per entity, e.g. the
    last training snapshot): decile edges (ties merged) and the share of rows per bin."""
    if profiles.is_empty():
        raise InvalidParameter("profiles", "a drift reference needs at least one training row")
    out = {}
    for name in features:
        values = _values(profiles, name)
        present = values[~np.isnan(values)]
        edges = np.unique(np.quantile(present, DECILES)) if len(present) else np.empty(0)
        counts = FeatureReference(edges, np.empty(0)).bins(values)
        out[name] = FeatureReference(edges, counts / counts.sum())
    return DriftReference(out, profiles.height, as_of)


def reference_of(split: Split, features: Sequence[str]) -> DriftReference:
    """The reference a model trained on ``split`` carries: its held-out snapshot (features
    only, never labels), the latest date the training data has."""
    last = split.test["as_of"].max()
    rows = split.test.filter(pl.col("as_of") == last)
    return fit_reference(rows, features, last.isoformat() if isinstance(last, datetime) else None)


def bin_counts(reference: DriftReference, profiles: pl.DataFrame) -> Counts:
    """Rows of ``profiles`` per reference bin, per feature: one partition's share of the work."""
    return {name: ref.bins(_values(profiles, name)) for name, ref in reference.features.items()}


def merge_counts(a: Counts, b: Counts) -> Counts:
    """Counts of two partitions added up (either may be empty: no partition yet)."""
    out = dict(a)
    for name, counts in b.items():
        out[name] = out[name] + counts if name in out else counts
    return out


def psi(expected: np.ndarray, actual: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population stability index of shares ``actual`` against ``expected`` (same bins; each
    share raised to ``epsilon`` when smaller)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), epsilon)
    a = np.maximum(np.asarray(actual, dtype=np.float64), epsilon)
    if e.shape != a.shape:
        raise InvalidParameter("actual", f"has {a.size} bins, the reference {e.size}")
    return float(np.sum((a - e) * np.log(a / e)))


def skipped(note: str) -> Drift:
    """A run that could not measure drift, and why."""
    return Drift(status="skipped", note=note)


def drift_report(
    reference: DriftReference | None, counts: Counts, threshold: float = DRIFT_THRESHOLD
) -> Drift:
    """PSI per feature of the scored population's ``counts`` against ``reference``."""
    if reference is None:
        return skipped(
            "the model carries no training reference (registered before drift monitoring): "
            "retrain it to compare scored populations with its training data"
        )
    rows = int(next(iter(counts.values())).sum()) if counts else 0
    if rows == 0:
        return skipped("no entity was scored")
    values = {
        name: round(psi(ref.shares, counts[name] / rows), 6)
        for name, ref in reference.features.items()
    }
    ranked = dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
    return Drift(
        status="computed",
        threshold=threshold,
        reference_rows=reference.rows,
        reference_as_of=reference.as_of,
        scored_rows=rows,
        max_psi=next(iter(ranked.values()), None),
        drifting=[name for name, v in ranked.items() if v > threshold],
        psi=ranked,
    )
