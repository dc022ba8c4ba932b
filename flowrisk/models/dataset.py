"""Training data: point-in-time snapshots of entity profiles with their labels, split by time
and by entity.

At a snapshot dated ``as_of`` an entity is positive when it is labelled, its first scheme
started before ``as_of`` and its last one had not ended more than :data:`LABEL_GRACE` before
(so the point-in-time features can see it; an entity without ``label_end`` stays positive).
Evaluation holds out both a later snapshot and entities the model never saw: train and
validation entities come from the earlier snapshots, test entities only from the last one.

"As of" has one definition for the whole package: :func:`scoring_date` (the first month start
after the last transaction) ends the training snapshots of :func:`snapshot_dates`, the benchmark's
and the scoring default of the CLI and the API.

The split assigns an entity by a keyed BLAKE2b hash of its id's UTF-8 bytes
(:func:`entity_buckets`), a function no library upgrade changes, so a dataset keeps its held-out
entities across Polars versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import Baselines, Partitioned, build_profiles, profiles_at_dates
from flowrisk.models.feedback import labels_at

__all__ = [
    "BUCKETS",
    "LABEL_GRACE",
    "Split",
    "entity_buckets",
    "label_snapshot",
    "scoring_date",
    "snapshot_dates",
    "snapshots",
    "split_snapshots",
]


def _months_back(end: datetime, months: int) -> datetime:
    """The month start ``months`` months before the month start ``end``."""
    m = end.month - months
    return datetime(end.year + (m - 1) // 12, (m - 1) % 12 + 1, 1, tzinfo=UTC)


def snapshot_dates(frames: Mapping[str, pl.LazyFrame], count: int = 4) -> list[datetime]:
    """``count`` month starts, oldest first, ending at :func:`scoring_date`: two months apart,
    or one month apart when two would leave the first snapshot without history (a dataset of
    fewer than ``2 * (count - 1)`` months, such as an imported simulation)."""
    if count < 1:
        raise InvalidParameter("count", f"must be at least 1, got {count}")
    first, last = (
        frames["transactions"]
        .select(pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"))
        .collect()
        .row(0)
    )
    if last is None:
        raise InvalidParameter("dataset", "has no transactions")
    year, month = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    end = datetime(year, month, 1, tzinfo=UTC)
    for step in (2, 1):
        dates = [_months_back(end, step * k) for k in reversed(range(count))]
        if count == 1 or dates[0] > first:
            return dates
    raise InvalidParameter(
        "dataset",
        f"spans {first.date()} to {last.date()}: too short for {count} monthly snapshots "
        "with history before each",
    )


def scoring_date(frames: Mapping[str, pl.LazyFrame]) -> datetime:
    """The default "as of" of a dataset: the first month start after its last transaction (the
    date training holds out, and the one scoring uses unless told otherwise)."""
    return snapshot_dates(frames, 1)[0]


# How long after its scheme's last day an entity stays positive: the recent windows of the
# point-in-time features still show the scheme that long.
LABEL_GRACE = timedelta(days=30)


def label_snapshot(profiles: pl.DataFrame, labels: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Profiles with ``as_of``, ``label`` (0/1 at that date: labelled, started before ``as_of``
    and not ended more than :data:`LABEL_GRACE` before it) and ``typologies``."""
    if "label_end" not in labels.columns:
        labels = labels.with_columns(pl.lit(None, dtype=pl.Date).alias("label_end"))
    active = pl.col("label_end").is_null() | (pl.col("label_end") >= (as_of - LABEL_GRACE).date())
    lab = labels.select(
        "entity_id",
        ((pl.col("label") == 1) & (pl.col("label_date") < as_of.date()) & active)
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
    feedback: pl.DataFrame | None = None,
    on: Partitioned | None = None,
) -> pl.DataFrame:
    """Labelled profiles of every entity at each date (one row per entity and date); the
    analysts' decisions in ``feedback`` taken before a date override its labels there
    (:func:`~flowrisk.models.feedback.labels_at`). With ``on``, each date's profiles are built
    entity partition by partition, here or on a Dask cluster (the same frame)."""
    if labels.is_empty():
        raise InvalidParameter("labels", "the dataset has no labels: training needs them")
    ordered = sorted(dates)
    if on is None:
        built = [build_profiles(frames, d, baselines).collect(engine="streaming") for d in ordered]
    else:
        built = profiles_at_dates(frames, ordered, baselines, on)
    return pl.concat(
        label_snapshot(p, labels_at(labels, feedback, d), d)
        for p, d in zip(built, ordered, strict=True)
    )


BUCKETS = 10_000  # the split's resolution: a share is a number of buckets out of these


def _bucket(entity_id: str, key: bytes) -> int:
    digest = hashlib.blake2b(entity_id.encode("utf-8"), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def entity_buckets(entity_ids: pl.Series, seed: int) -> pl.Series:
    """Each id's bucket in ``[0, BUCKETS)``: a BLAKE2b hash of its UTF-8 bytes keyed by
    ``seed``, the same on every platform and library version (unlike ``Expr.hash``). Hashed
    once per distinct id (about a second for a million entities)."""
    key = str(seed).encode("ascii")
    entity_ids = entity_ids.cast(pl.String)
    distinct = entity_ids.unique()
    buckets = pl.Series([_bucket(e, key) for e in distinct.to_list()], dtype=pl.Int64)
    return entity_ids.replace_strict(distinct, buckets, return_dtype=pl.Int64)


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
    other entities, split by entity. Shares are of entities; assignment is a seeded hash of
    the entity id (:func:`entity_buckets`) that no library version changes."""
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
    bucket = pl.lit(entity_buckets(data["entity_id"], seed)) / BUCKETS
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
