"""The one "as of": snapshot dates end at the first month start after the last transaction, two
months apart on a year of data (the dates every training run on a generated world has used),
one month apart on a short imported dataset, and refused when no history would precede them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.io import read_dataset
from flowrisk.models import scoring_date, snapshot_dates


def _frames(first: datetime, last: datetime) -> dict[str, pl.LazyFrame]:
    return {"transactions": pl.LazyFrame({"ts": [first, last]})}


def _day(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


def test_a_year_of_data_gives_month_starts_two_months_apart() -> None:
    frames = _frames(_day(2025, 1, 1, 3), _day(2025, 12, 31, 22))
    assert snapshot_dates(frames) == [
        _day(2025, 7, 1),
        _day(2025, 9, 1),
        _day(2025, 11, 1),
        _day(2026, 1, 1),
    ]
    assert scoring_date(frames) == _day(2026, 1, 1)
    assert snapshot_dates(frames, 2) == [_day(2025, 11, 1), _day(2026, 1, 1)]


def test_a_generated_world_keeps_its_training_dates(small_world_dir: Path) -> None:
    frames = read_dataset(small_world_dir, tables=["transactions"])
    assert snapshot_dates(frames) == [_day(2025, m, 1) for m in (7, 9, 11)] + [_day(2026, 1, 1)]
    assert scoring_date(frames) == _day(2026, 1, 1)


def test_a_short_dataset_gets_monthly_snapshots_with_history() -> None:
    frames = _frames(_day(2025, 1, 2, 12), _day(2025, 5, 30, 12))  # the AMLSim sample's span
    dates = snapshot_dates(frames)
    assert dates == [_day(2025, 3, 1), _day(2025, 4, 1), _day(2025, 5, 1), _day(2025, 6, 1)]
    assert scoring_date(frames) == dates[-1]
    across = _frames(_day(2024, 10, 20), _day(2025, 1, 10))  # across a year end
    assert snapshot_dates(across) == [
        _day(2024, 11, 1),
        _day(2024, 12, 1),
        _day(2025, 1, 1),
        _day(2025, 2, 1),
    ]


def test_the_scoring_date_is_strictly_after_the_last_transaction() -> None:
    at_midnight = _frames(_day(2025, 1, 1), _day(2025, 3, 1))
    assert scoring_date(at_midnight) == _day(2025, 4, 1)


def test_too_short_or_empty_datasets_are_refused() -> None:
    with pytest.raises(InvalidParameter, match="too short for 4 monthly snapshots"):
        snapshot_dates(_frames(_day(2025, 1, 5), _day(2025, 2, 10)))
    assert scoring_date(_frames(_day(2025, 1, 5), _day(2025, 1, 6))) == _day(2025, 2, 1)
    empty = {"transactions": pl.LazyFrame({"ts": []}, schema={"ts": pl.Datetime("us", "UTC")})}
    with pytest.raises(InvalidParameter, match="has no transactions"):
        scoring_date(empty)
    with pytest.raises(InvalidParameter, match="count"):
        snapshot_dates(_frames(_day(2025, 1, 5), _day(2025, 9, 6)), 0)
