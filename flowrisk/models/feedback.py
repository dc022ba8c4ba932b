"""Analysts' decisions as training labels: the ``feedback`` table (``flowrisk feedback
export``) overrides or adds the labels of a dataset, point in time. At a snapshot dated
``as_of`` only decisions taken before it count, the latest decision on an entity winning: a
confirmed case makes the entity positive from then on, a dismissed one negative (the dataset's
label before the decision still holds at earlier snapshots)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.io import read_table
from flowrisk.schema import FEEDBACK

__all__ = ["FeedbackUse", "feedback_use", "labels_at", "read_feedback"]


def read_feedback(path: Path) -> pl.DataFrame:
    """The feedback labels of a CSV or Parquet file, checked: labels 0 or 1, dates present."""
    path = Path(path)
    if not path.is_file():
        raise InvalidParameter("--feedback", f"no such file {path}")
    frame = read_table(path, FEEDBACK).collect()
    bad = frame.filter(~pl.col("label").is_in([0, 1]) | pl.col("decided_at").is_null())
    if bad.height:
        first = bad.row(0, named=True)
        raise InvalidParameter(
            "--feedback",
            f"{path.name}: {bad.height} row(s) with a label other than 0 or 1 or no decision "
            f"date, first for entity {first['entity_id']}",
        )
    return frame


def _latest(feedback: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Each entity's last decision before ``as_of``."""
    return (
        feedback.filter(pl.col("decided_at") < as_of)
        .sort("decided_at", maintain_order=True)
        .group_by("entity_id", maintain_order=True)
        .last()
    )


def labels_at(labels: pl.DataFrame, feedback: pl.DataFrame | None, as_of: datetime) -> pl.DataFrame:
    """The dataset's ``labels`` with the decisions taken before ``as_of`` applied: a decided
    entity's label is the decision's, dated by it (an entity without a label gets a row)."""
    if feedback is None or feedback.is_empty():
        return labels
    decided = _latest(feedback, as_of)
    if decided.is_empty():
        return labels
    added = decided.select(
        "entity_id",
        pl.col("label").cast(labels.schema["label"]),
        pl.col("decided_at").dt.date().alias("label_date"),
    )
    kept = labels.join(added.select("entity_id"), on="entity_id", how="anti")
    overridden = added.join(labels.drop("label", "label_date"), on="entity_id", how="left")
    negative = pl.col("label") == 0  # a dismissed entity carries no typology any more
    overridden = overridden.with_columns(
        *(
            pl.when(negative).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("typology", "typologies")
            if c in labels.columns
        )
    ).select(labels.columns)
    return pl.concat([kept, overridden.cast(labels.schema)], how="vertical")


@dataclass(frozen=True)
class FeedbackUse:
    """How many feedback labels a training run used: decisions read, those taken before the
    last snapshot (used), and among them the positives and negatives."""

    read: int
    used: int
    positives: int
    negatives: int


def feedback_use(feedback: pl.DataFrame | None, dates: list[datetime]) -> FeedbackUse | None:
    """What a run on snapshots ``dates`` takes from ``feedback`` (None without feedback)."""
    if feedback is None:
        return None
    decided = _latest(feedback, max(dates))
    positives = int((decided["label"] == 1).sum())
    return FeedbackUse(feedback.height, decided.height, positives, decided.height - positives)
