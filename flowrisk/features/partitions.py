"""The feature stages as partition functions: each reads the dataset from its path and works on
one group of entities, so the same call runs here or on a Dask worker
(:func:`flowrisk.io.cluster.in_order`); results come back in partition order and are put back
into the entity table's order, so both engines give identical frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.features.baselines import Baselines, company_groups, summarise_sectors
from flowrisk.features.build import build_profiles, entity_partitions
from flowrisk.features.context import make_context
from flowrisk.io import read_dataset
from flowrisk.io.cluster import in_order

__all__ = [
    "Partitioned",
    "fit_baselines_partitioned",
    "profile_partition",
    "profiles_at_dates",
    "profiles_partitioned",
    "sector_metrics_partition",
]


@dataclass(frozen=True)
class Partitioned:
    """Where and how a feature stage runs: the dataset folder (under the same path on every
    worker), the number of entity partitions and a Dask client (None: here, one partition
    after another)."""

    dataset: str
    partitions: int
    client: Any = None


def profile_partition(
    dataset: str, members: list[str], as_of: datetime, baselines: Baselines | None
) -> pl.DataFrame:
    """Profiles of ``members`` as of ``as_of``: the unit of work of every profile build."""
    frames = read_dataset(Path(dataset), verify=False)  # the caller checked the files
    return build_profiles(frames, as_of, baselines, entities=members).collect(engine="streaming")


def sector_metrics_partition(dataset: str, as_of: datetime, companies: list[str]) -> pl.DataFrame:
    """Per-company metrics of ``companies`` as of ``as_of`` (what sector baselines summarise)."""
    from flowrisk.features.families.business import sector_metrics

    frames = read_dataset(Path(dataset), verify=False)
    return sector_metrics(make_context(frames, as_of, {}, companies)).collect(engine="streaming")


def fit_baselines_partitioned(
    frames: Mapping[str, pl.LazyFrame], as_of: datetime, on: Partitioned
) -> Baselines:
    """:func:`~flowrisk.features.fit_baselines` with each group of companies measured by
    :func:`sector_metrics_partition` (the same groups, the same baselines)."""
    calls = [
        (on.dataset, as_of, group.to_list()) for group in company_groups(frames, on.partitions)
    ]
    metrics = list(in_order(sector_metrics_partition, calls, on.client))
    return summarise_sectors(metrics, as_of)


def profiles_partitioned(
    frames: Mapping[str, pl.LazyFrame],
    as_of: datetime,
    baselines: Baselines | None,
    on: Partitioned,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """Every entity's profile as of ``as_of``, built partition by partition (``progress``
    hears each one), in the entity table's order: the frame one :func:`build_profiles` call
    over the whole dataset gives."""
    return profiles_at_dates(frames, [as_of], baselines, on, progress)[0]


def profiles_at_dates(
    frames: Mapping[str, pl.LazyFrame],
    dates: Sequence[datetime],
    baselines: Baselines | None,
    on: Partitioned,
    progress: Callable[[int, int], None] | None = None,
) -> list[pl.DataFrame]:
    """:func:`profiles_partitioned` at each of ``dates``, every (date, partition) submitted at
    once so that a cluster's workers all have work."""
    parts = [p.to_list() for p in entity_partitions(frames, on.partitions) if len(p)]
    calls = [(on.dataset, members, d) for d in dates for members in parts]
    order = frames["entities"].select("entity_id").collect()
    chunks: list[pl.DataFrame] = []
    out = []
    for done, chunk in enumerate(
        in_order(profile_partition, calls, on.client, {"baselines": baselines}), 1
    ):
        chunks.append(chunk)
        if progress is not None:
            progress(done, len(calls))
        if len(chunks) == len(parts):  # one date complete
            whole = pl.concat(chunks)
            out.append(order.join(whole, on="entity_id", how="inner", maintain_order="left"))
            chunks = []
    return out
