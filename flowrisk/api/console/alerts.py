"""The alert queue: a batch scoring run (``flowrisk score ... --out DIR``, registered with
``flowrisk serve --scores DIR``) held in memory, ranked by score, with each entity's name,
typology tags and main reason; filtered by band, typology, entity type and case status, and
cut into pages.

Case status is a seam: the service may be given a ``CaseStatuses`` function (the entity ids
with a case, and its status); the queue then shows and filters by it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.schema import ALERT_BANDS, BANDS

__all__ = [
    "PAGE_SIZE",
    "AlertQueue",
    "CaseStatuses",
    "QueueFilters",
    "QueuePage",
    "search_entities",
]

PAGE_SIZE = 50
SEARCH_LIMIT = 50
CaseStatuses = Callable[[], Mapping[str, str]]
"""Every entity that has a case, and the status of its latest case."""


@dataclass(frozen=True)
class QueueFilters:
    """What the analyst asked the queue for: ``band`` is "alerts" (high and critical), "all"
    or one band; empty strings mean any."""

    band: str = "alerts"
    typology: str = ""
    entity_type: str = ""
    status: str = ""
    page: int = 1

    def check(self) -> None:
        """Refuse a filter value that names nothing (``InvalidParameter`` naming it)."""
        if self.band not in ("alerts", "all", *BANDS):
            raise InvalidParameter("band", f"must be alerts, all or one of {', '.join(BANDS)}")
        if self.page < 1:
            raise InvalidParameter("page", f"must be at least 1, got {self.page}")


@dataclass(frozen=True)
class QueuePage:
    """One page of the filtered queue: its rows (rank, entity, name, type, score, band, tags,
    reason, case status) and where it sits among the matches."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    size: int = PAGE_SIZE
    first: int = field(init=False)
    last: int = field(init=False)

    def __post_init__(self) -> None:
        start = (self.page - 1) * self.size
        object.__setattr__(self, "first", start + 1 if self.rows else 0)
        object.__setattr__(self, "last", start + len(self.rows))


def _run_record(folder: Path) -> dict[str, Any]:
    record = folder / "run.json"
    if not record.is_file():
        raise InvalidParameter(
            "scores", f"{folder}: no run.json, so not a finished `flowrisk score` output"
        )
    run: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    return run


class AlertQueue:
    """The scored entities of one run, best first, with what the queue shows of each."""

    def __init__(self, frame: pl.DataFrame, run: Mapping[str, Any]) -> None:
        self.frame, self.run = frame, dict(run)
        self.typologies = sorted(set(frame["tags"].explode().drop_nulls().to_list()))
        self.entity_types = sorted(set(frame["entity_type"].drop_nulls().to_list()))

    @classmethod
    def load(cls, folder: Path, names: pl.DataFrame | None = None) -> AlertQueue:
        """Read a run's ``scores.parquet`` and ``explanations.parquet`` (names from ``names``:
        entity_id and name, when the service has the dataset)."""
        run = _run_record(folder)
        scores = pl.read_parquet(folder / "scores.parquet").with_columns(
            pl.col("band").cast(pl.String)
        )
        explained = pl.read_parquet(folder / "explanations.parquet").select(
            "entity_id",
            pl.col("tags"),
            pl.col("reasons").list.first().struct.field("text").alias("reason"),
        )
        frame = (
            scores.join(explained, on="entity_id", how="left")
            .with_columns(pl.col("tags").fill_null(pl.lit([], dtype=pl.List(pl.String))))
            .sort(["score", "entity_id"], descending=[True, False])
            .with_row_index("rank", offset=1)
        )
        if names is not None:
            frame = frame.join(names.select("entity_id", "name"), on="entity_id", how="left")
        else:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("name"))
        return cls(frame, run)

    def page(self, filters: QueueFilters, statuses: Mapping[str, str] | None = None) -> QueuePage:
        """The page of the queue ``filters`` ask for (an empty page past the last one)."""
        filters.check()
        frame = self.frame
        if statuses is not None:
            known = pl.DataFrame(
                {"entity_id": list(statuses), "case_status": list(statuses.values())},
                schema={"entity_id": pl.String, "case_status": pl.String},
            )
            frame = frame.join(known, on="entity_id", how="left")
        frame = frame.filter(_predicate(filters, statuses is not None))
        total = frame.height
        pages = max(1, -(-total // PAGE_SIZE))
        rows = frame.slice((filters.page - 1) * PAGE_SIZE, PAGE_SIZE).to_dicts()
        return QueuePage(rows, total, filters.page, pages)

    def lookup(self, entity_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The queue's row of each of ``entity_ids`` that the run scored."""
        found = self.frame.filter(pl.col("entity_id").is_in(entity_ids))
        return {row["entity_id"]: row for row in found.to_dicts()}


def _predicate(filters: QueueFilters, with_status: bool) -> pl.Expr:
    """The rows ``filters`` keep."""
    keep = pl.lit(True)
    if filters.band == "alerts":
        keep &= pl.col("band").is_in(list(ALERT_BANDS))
    elif filters.band != "all":
        keep &= pl.col("band") == filters.band
    if filters.typology:
        keep &= pl.col("tags").list.contains(filters.typology)
    if filters.entity_type:
        keep &= pl.col("entity_type") == filters.entity_type
    if filters.status and with_status:
        keep &= pl.col("case_status") == filters.status
    return keep


def search_entities(
    entities: pl.DataFrame, query: str, limit: int = SEARCH_LIMIT
) -> tuple[list[dict[str, Any]], int]:
    """Entities whose id is ``query`` or starts with it, or whose name contains it (any case),
    the exact id first; returns at most ``limit`` of them and how many match in all."""
    text = query.strip()
    if not text:
        return [], 0
    lowered = text.lower()
    matched = (
        entities.select("entity_id", "name", "entity_type", "country")
        .with_columns(
            pl.col("entity_type").cast(pl.String),
            pl.when(pl.col("entity_id") == text)
            .then(0)
            .when(pl.col("entity_id").str.starts_with(text))
            .then(1)
            .otherwise(2)
            .alias("_order"),
        )
        .filter(
            (pl.col("_order") < 2)
            | pl.col("name").str.to_lowercase().str.contains(lowered, literal=True)
        )
        .sort(["_order", "name", "entity_id"])
    )
    return matched.head(limit).drop("_order").to_dicts(), matched.height
