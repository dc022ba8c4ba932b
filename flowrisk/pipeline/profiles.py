"""Entity profiles written to a Parquet file, with the baselines they were compared with."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import (
    Baselines,
    Partitioned,
    feature_names,
    feature_signal,
    fit_baselines_partitioned,
    partitions_for,
    profiles_partitioned,
)
from flowrisk.io import read_dataset, replace_file_atomically
from flowrisk.io.cluster import Engine, check_engine, on_cluster
from flowrisk.pipeline.progress import Tick
from flowrisk.pipeline.readable import reading_dataset

__all__ = ["ProfileFile", "strongest_features", "write_profiles"]


@dataclass(frozen=True)
class ProfileFile:
    """What :func:`write_profiles` wrote."""

    path: Path
    baselines_path: Path
    rows: int
    features: int
    as_of: datetime
    partitions: int
    seconds: float


def write_profiles(
    dataset: Path,
    as_of: datetime,
    out: Path,
    *,
    baselines: Baselines | None = None,
    partitions: int | None = None,
    tick: Tick | None = None,
    verify: bool = True,
    engine: Engine = "local",
    scheduler: str | None = None,
) -> tuple[ProfileFile, pl.DataFrame]:
    """Build every entity's profile as of ``as_of`` partition by partition (fitting baselines on
    the dataset unless given) and write them, sorted by entity, with ``<out>.baselines.json``;
    both files are replaced only once both are written (a failed run leaves the old ones).
    The ``dask`` engine runs the same partitions on the workers of ``scheduler``, which read
    the dataset under the same path: the files are the same."""
    if partitions is not None and partitions < 1:
        raise InvalidParameter("partitions", "must be at least 1")
    check_engine(engine, scheduler)
    started = time.perf_counter()
    frames = read_dataset(dataset, verify=verify)
    with reading_dataset(dataset), on_cluster(scheduler if engine == "dask" else None) as client:
        parts = partitions or partitions_for(frames)
        on = Partitioned(str(dataset.resolve()), parts, client)
        fitted = (
            baselines if baselines is not None else fit_baselines_partitioned(frames, as_of, on)
        )
        profiles = profiles_partitioned(frames, as_of, fitted, on, tick).sort("entity_id")
    side = out.with_suffix(".baselines.json")
    with replace_file_atomically(out) as staged, replace_file_atomically(side) as staged_side:
        profiles.write_parquet(staged)
        staged_side.write_text(fitted.to_json(), encoding="utf-8")
    written = ProfileFile(
        out,
        side,
        profiles.height,
        len(feature_names()),
        as_of,
        parts,
        time.perf_counter() - started,
    )
    return written, profiles


def strongest_features(profiles: pl.DataFrame, dataset: Path) -> pl.DataFrame:
    """The single feature that best separates each typology's guilty from the honest (ROC-AUC),
    one row per typology; empty when the dataset has no labels."""
    labels = read_dataset(dataset, tables=["entities", "accounts", "transactions", "labels"])
    if "labels" not in labels:
        return pl.DataFrame(schema={"typology": pl.String, "feature": pl.String, "auc": pl.Float64})
    return (
        feature_signal(profiles, labels["labels"].collect())
        .sort("auc", descending=True, nulls_last=True)
        .group_by("typology", maintain_order=True)
        .first()
        .sort("typology")
        .select("typology", "feature", "auc")
    )
