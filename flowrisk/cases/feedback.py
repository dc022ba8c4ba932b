"""Closed cases as training labels: a confirmed and reported case gives its entity label 1, a
dismissed one label 0, each dated by its decision; a reason that says nothing about the entity
(a duplicate case) gives none. Written as the ``feedback`` table of :mod:`flowrisk.schema`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from flowrisk.cases.lifecycle import REASONS
from flowrisk.cases.store import Case
from flowrisk.errors import InvalidParameter
from flowrisk.io import replace_file_atomically
from flowrisk.schema import FEEDBACK

__all__ = ["feedback_frame", "write_feedback"]


def feedback_frame(decided: Sequence[Case]) -> pl.DataFrame:
    """One row per closed case whose reason gives a label, oldest decision first."""
    rows = [
        {
            "entity_id": c.entity_id,
            "label": REASONS[c.reason_code].label,
            "decided_at": c.decided_at,
            "case_id": c.id,
            "reason_code": c.reason_code,
        }
        for c in decided
        if c.reason_code in REASONS and REASONS[c.reason_code].label is not None
    ]
    frame = pl.DataFrame(rows, schema=FEEDBACK.schema) if rows else FEEDBACK.empty()
    return frame.sort("decided_at", "case_id", maintain_order=True)


def write_feedback(frame: pl.DataFrame, path: Path) -> Path:
    """Write the feedback labels atomically, as CSV or Parquet by the suffix of ``path``."""
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise InvalidParameter("--out", f"must end in .csv or .parquet, got {path.name}")
    with replace_file_atomically(path) as staged:
        if path.suffix == ".csv":
            frame.write_csv(staged)
        else:
            frame.write_parquet(staged)
    return path
