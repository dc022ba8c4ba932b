"""Fitted statistics: computed once at training time, saved with the model, injected at scoring
time (never recomputed per request)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from flowrisk.features.catalog import FEATURE_SET, FEATURE_SET_VERSION
from flowrisk.features.context import make_context

__all__ = ["Baselines", "fit_baselines", "reference_baselines"]


@dataclass(frozen=True)
class Baselines:
    """Statistics the features compare entities with; ``sector`` is one row per NAF code."""

    as_of: str | None
    sector: pl.DataFrame
    feature_set: str = FEATURE_SET
    feature_set_version: str = FEATURE_SET_VERSION

    def tables(self) -> dict[str, pl.DataFrame]:
        return {"sector": self.sector}

    def sector_reference(self) -> pl.DataFrame:
        """Per sector, the values the catalog's ``baseline`` names refer to, in the units an
        analyst reads (shares, EUR per employee)."""
        return self.sector.select(
            "sector_code",
            "cash_share_median",
            "supplier_ratio_median",
            pl.col("log_inflow_pe_median").exp().alias("inflow_per_employee_median"),
            pl.col("log_revenue_pe_median").exp().alias("revenue_per_employee_median"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "feature_set": self.feature_set,
            "feature_set_version": self.feature_set_version,
            "sector": self.sector.to_dicts(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baselines:
        return cls(
            as_of=data["as_of"],
            sector=pl.DataFrame(data["sector"]),
            feature_set=data["feature_set"],
            feature_set_version=data["feature_set_version"],
        )

    @classmethod
    def from_json(cls, text: str) -> Baselines:
        return cls.from_dict(json.loads(text))


def company_groups(frames: Mapping[str, pl.LazyFrame], partitions: int) -> list[pl.Series]:
    """The companies of ``frames`` in ``partitions`` groups, by a hash of their id."""
    companies = (
        frames["entities"]
        .filter(pl.col("entity_type") == "company")
        .select("entity_id")
        .collect()["entity_id"]
    )
    bucket = companies.hash(seed=7) % max(partitions, 1)
    return [companies.filter(bucket == p) for p in range(max(partitions, 1))]


def summarise_sectors(metrics: list[pl.DataFrame], as_of: datetime) -> Baselines:
    """Baselines from the per-company metrics of every group of companies."""
    from flowrisk.features.families.business import fit_sector_baselines

    return Baselines(
        as_of=as_of.isoformat(), sector=fit_sector_baselines(pl.concat(metrics).lazy())
    )


def fit_baselines(
    frames: Mapping[str, pl.LazyFrame], as_of: datetime, partitions: int = 1
) -> Baselines:
    """Sector statistics of the companies in ``frames`` as of ``as_of`` (training data only).

    The per-company metrics are computed ``partitions`` groups of companies at a time (one row
    per company comes out of each), then summarised per sector.
    """
    from flowrisk.features.families.business import sector_metrics

    metrics = [
        sector_metrics(make_context(frames, as_of, {}, group.to_list())).collect(engine="streaming")
        for group in company_groups(frames, partitions)
    ]
    return summarise_sectors(metrics, as_of)


def reference_baselines() -> Baselines:
    """Baselines from the reference sector profiles alone (before any training)."""
    from flowrisk.features.families.business import fit_sector_baselines

    empty = pl.LazyFrame(
        schema={
            "sector_code": pl.String,
            "cash_share": pl.Float64,
            "supplier_ratio": pl.Float64,
            "log_inflow_pe": pl.Float64,
            "log_revenue_pe": pl.Float64,
        }
    )
    return Baselines(as_of=None, sector=fit_sector_baselines(empty))
