"""The feature families, in profile order; importing them registers their features and red flags.

Each family module offers the same four names (:class:`Family`): its catalog entries, the
features it computes, the red flags it raises and the rule-engine conditions it owns, all on the
same leg predicates (``flowrisk.features.legs``) and thresholds (``reference/thresholds.toml``).
"""

from __future__ import annotations

from typing import Protocol

import polars as pl

from flowrisk.features.catalog import Feature
from flowrisk.features.context import Context
from flowrisk.features.families import (
    amount,
    business,
    cash,
    crypto,
    flows,
    geography,
    neighbourhood,
    network,
    reports,
    timing,
    wealth,
)

__all__ = ["FAMILIES", "Family"]


class Family(Protocol):
    """What a family module provides."""

    FEATURES: list[Feature]

    def compute(self, ctx: Context) -> pl.LazyFrame:
        """One row per entity with the family's features."""
        ...

    def red_flags(self, ctx: Context) -> list[pl.LazyFrame]:
        """The family's red flags (``evidence.FLAG_SCHEMA`` rows) of the context's entities."""
        ...

    def rules(self) -> dict[str, pl.Expr]:
        """Rule name -> condition on profile columns (the rule-engine baseline)."""
        ...


FAMILIES: tuple[Family, ...] = (
    cash,
    flows,
    geography,
    crypto,
    business,
    wealth,
    network,
    reports,
    amount,
    neighbourhood,
    timing,
)
