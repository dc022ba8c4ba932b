"""Property: corrupting random rows of a clean world quarantines exactly those rows, with a
reason, and every other row comes through accepted and unchanged."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowrisk.data_contracts import validate_dataset
from flowrisk.data_contracts.prepare import ROW
from flowrisk.data_contracts.validate import RULES

# Corruptions per table (tables nothing else points to, so a rejection cannot cascade):
# column, bad value, the rule that must catch it.
CORRUPTIONS: dict[str, list[tuple[str, Any, str]]] = {
    "transactions": [
        ("amount", -12.5, "transactions.amount.range"),
        ("amount", 0.0, "transactions.amount.range"),
        ("amount", float("nan"), "transactions.amount.range"),
        ("amount", float("inf"), "transactions.amount.range"),
        ("amount", None, "transactions.amount.not_null"),
        ("ts", datetime(2031, 1, 1, tzinfo=UTC), "transactions.ts.range"),
        ("channel", "telepathy", "transactions.channel.known"),
        ("dst_account_id", "A-UNKNOWN", "transactions.dst_account_id.exists"),
        ("currency_original", "euros", "transactions.currency_original.code"),
    ],
    "assets": [
        ("value", -1.0, "assets.value.range"),
        ("entity_id", "E-UNKNOWN", "assets.entity_id.exists"),
    ],
    "reports": [
        ("reported_at", datetime(2031, 1, 1, tzinfo=UTC), "reports.reported_at.range"),
        ("category", "rumour", "reports.category.known"),
    ],
    "ownership": [("share_pct", 150.0, "ownership.share_pct.range")],
}


def _corrupt(folder: Path, table: str, hits: dict[int, tuple[str, Any, str]]) -> None:
    path = folder / f"{table}.parquet"
    df = pl.read_parquet(path)
    for column in {c for c, _, _ in hits.values()}:
        if isinstance(df.schema[column], pl.Enum):
            df = df.with_columns(pl.col(column).cast(pl.String))
    for row, (column, value, _) in hits.items():
        hit = pl.int_range(pl.len()) == row
        df = df.with_columns(
            pl.when(hit)
            .then(pl.lit(value, dtype=df.schema[column]))
            .otherwise(pl.col(column))
            .alias(column)
        )
    df.write_parquet(path)


@st.composite
def corruptions(draw: st.DrawFn, sizes: dict[str, int]) -> dict[str, dict[int, tuple]]:
    tables = draw(
        st.lists(st.sampled_from(sorted(CORRUPTIONS)), min_size=1, max_size=3, unique=True)
    )
    out = {}
    for table in tables:
        rows = draw(st.lists(st.integers(0, sizes[table] - 1), min_size=1, max_size=6, unique=True))
        out[table] = {r: draw(st.sampled_from(CORRUPTIONS[table])) for r in rows}
    return out


def _check(clean_inputs: Path, plan: dict[str, dict[int, tuple]], engine: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "data", Path(tmp) / "out"
        shutil.copytree(clean_inputs, data)
        for table, hits in plan.items():
            _corrupt(data, table, hits)
        report = validate_dataset(data, quarantine=out, engine=engine, verify=False)  # edited
        for table, t in report.tables.items():
            hits = plan.get(table, {})
            assert t.rows_quarantined == len(hits), (table, t.rules)
            assert t.rows_in == t.rows_accepted + t.rows_quarantined
            quarantined = pl.read_parquet(out / "quarantine" / f"{table}.parquet")
            assert sorted(quarantined[ROW].to_list()) == sorted(hits)
            for row, rules in quarantined.select(ROW, RULES).iter_rows():
                assert hits[row][2] in rules
            original = pl.read_parquet(clean_inputs / f"{table}.parquet")
            kept = original.with_row_index(ROW).filter(~pl.col(ROW).is_in(list(hits))).drop(ROW)
            accepted = pl.read_parquet(out / "accepted" / f"{table}.parquet")
            assert accepted.equals(kept), table


@pytest.fixture(scope="module")
def clean_inputs(clean_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clean world's input tables only (ground truth removed)."""
    folder = tmp_path_factory.mktemp("inputs")
    for path in clean_world.glob("*.parquet"):
        if "label" not in path.name:
            shutil.copy(path, folder / path.name)
    shutil.copy(clean_world / "manifest.json", folder / "manifest.json")
    return folder


@pytest.fixture(scope="module")
def sizes(clean_inputs: Path) -> dict[str, int]:
    return {
        t: pl.scan_parquet(clean_inputs / f"{t}.parquet").select(pl.len()).collect().item()
        for t in CORRUPTIONS
    }


def test_clean_world_validates_with_zero_rejections(clean_inputs: Path) -> None:
    for engine in ("gx", "polars"):
        report = validate_dataset(clean_inputs, engine=engine)
        assert report.clean, {t: r.rules for t, r in report.tables.items()}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_exactly_the_corrupted_rows_are_quarantined(
    clean_inputs: Path, sizes: dict[str, int], data: st.DataObject
) -> None:
    _check(clean_inputs, data.draw(corruptions(sizes)), engine="polars")


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_exactly_the_corrupted_rows_are_quarantined_by_gx(
    clean_inputs: Path, sizes: dict[str, int], data: st.DataObject
) -> None:
    _check(clean_inputs, data.draw(corruptions(sizes)), engine="gx")
