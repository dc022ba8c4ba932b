"""Training data: point-in-time snapshots of entity profiles with their labels, split by time
and by entity.

At a snapshot dated ``as_of`` an entity is positive when it is labelled and its first scheme
started before ``as_of`` (so the features can see it). Evaluation holds out both a later
snapshot and entities the model never saw: train and validation entities come from the earlier
snapshots, test entities only from the last one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import Baselines, build_profiles

__all__ = ["Split", "label_snapshot", "snapshots", "split_snapshots"]


def label_snapshot(profiles: pl.DataFrame, labels: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Profiles with ``as_of``, ``label`` (0/1 at that date) and ``typologies``."""
    lab = labels.select(
        "entity_id",
        ((pl.col("label") == 1) & (pl.col("label_date") < as_of.date()))
        .fill_null(False)
        .cast(pl.Int8)
        .alias("label"),
        pl.col("typologies").cast(pl.List(pl.String)),
    )
    return profiles.join(lab, on="entity_id", how="left", maintain_order="left").with_columns(
        pl.lit(as_of).alias("as_of"),
        pl.col("label").fill_null(0),
        pl.col("typologies").fill_null([]),
    )


def snapshots(
    frames: Mapping[str, pl.LazyFrame],
    labels: pl.DataFrame,
    dates: Sequence[datetime],
    baselines: Baselines,
) -> pl.DataFrame:
    """Labelled profiles of every entity at each date (one row per entity and date)."""
    if labels.is_empty():
        raise InvalidParameter("labels", "the dataset has no labels: training needs them")
    parts = [
        label_snapshot(build_profiles(frames, d, baselines).collect(engine="streaming"), labels, d)
        for d in sorted(dates)
    ]
    return pl.concat(parts)


@dataclass(frozen=True)
class Split:
    """Rows for fitting, early stopping and calibration, and the held-out test."""

    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame

    def describe(self) -> dict[str, dict[str, int]]:
        return {
            name: {
                "rows": f.height,
                "positives": int(f["label"].sum()),
                "entities": f["entity_id"].n_unique(),
            }
            for name, f in (("train", self.train), ("valid", self.valid), ("test", self.test))
        }


def split_snapshots(
    data: pl.DataFrame, test_share: float = 0.25, valid_share: float = 0.2, seed: int = 42
) -> Split:
    """Test = the last snapshot's held-out entities; train/valid = the earlier snapshots of the
    other entities, split by entity. Shares are of entities; assignment is a seeded hash."""
    if not 0 < test_share < 1 or not 0 < valid_share < 1 or test_share + valid_share >= 1:
        raise InvalidParameter(
            "test_share",
            "test and validation shares must be in (0, 1) and leave entities to train on",
        )
    dates = data["as_of"].unique().sort()
    if len(dates) < 2:
        raise InvalidParameter(
            "dates", "at least two snapshot dates are needed (train before, test after)"
        )
    bucket = (pl.col("entity_id").hash(seed=seed) % 10_000) / 10_000
    tagged = data.with_columns(
        pl.when(bucket < test_share)
        .then(pl.lit("test"))
        .when(bucket < test_share + valid_share)
        .then(pl.lit("valid"))
        .otherwise(pl.lit("train"))
        .alias("_part")
    )
    last = dates[-1]
    earlier = tagged.filter(pl.col("as_of") < last)
    parts = Split(
        train=earlier.filter(pl.col("_part") == "train").drop("_part"),
        valid=earlier.filter(pl.col("_part") == "valid").drop("_part"),
        test=tagged.filter((pl.col("as_of") == last) & (pl.col("_part") == "test")).drop("_part"),
    )
    for name, frame in (("train", parts.train), ("valid", parts.valid), ("test", parts.test)):
        positives = int(frame["label"].sum())
        if positives == 0 or positives == frame.height:
            raise InvalidParameter(
                "labels",
                f"the {name} split has only one class ({positives} positives of "
                f"{frame.height}); generate or provide more labelled entities",
            )
    return parts
