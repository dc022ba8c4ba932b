"""Validation on a Dask cluster: the row rules run chunk by chunk on the workers, through the
same partition function as here; the report, the accepted and the quarantined rows are the same
as the local engine's, with either rules engine; `flowrisk validate --engine dask` says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.data_contracts import validate_dataset

NOW = datetime(2026, 1, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Two in-process workers (threads): cheap, and the GX context shared by their threads."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def _dirty(world_copy: Path) -> Path:
    """Rows that break row rules (negative amounts, an unknown channel) and dataset rules (a
    duplicated id, a transaction from a rejected account)."""
    tx = pl.read_parquet(world_copy / "transactions.parquet")
    tx = tx.with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0)
        .then(-5.0)
        .otherwise(pl.col("amount"))
        .alias("amount"),
        pl.when(pl.int_range(pl.len()) % 131 == 0)
        .then(pl.lit("pigeon"))
        .otherwise(pl.col("channel").cast(pl.String))
        .alias("channel"),
    )
    tx = pl.concat([tx, tx.head(3)])
    tx.write_parquet(world_copy / "transactions.parquet")
    accounts = pl.read_parquet(world_copy / "accounts.parquet")
    accounts = accounts.with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.lit("nowhere"))
        .otherwise(pl.col("account_type").cast(pl.String))
        .alias("account_type")
    )
    accounts.write_parquet(world_copy / "accounts.parquet")
    return world_copy


@pytest.mark.parametrize("rules", ["polars", "gx"])
def test_dask_gives_the_local_report_and_files(
    world_copy: Path, tmp_path: Path, scheduler: str, rules: str
) -> None:
    data = _dirty(world_copy)
    here = validate_dataset(
        data,
        quarantine=tmp_path / "here",
        engine=rules,
        chunk_rows=3_000,
        now=NOW,  # type: ignore[arg-type]
    )
    seen: list[tuple[str, int, int]] = []
    there = validate_dataset(
        data,
        quarantine=tmp_path / "there",
        engine=rules,  # type: ignore[arg-type]
        chunk_rows=3_000,
        now=NOW,
        scheduler=scheduler,
        progress=lambda table, done, total: seen.append((table, done, total)),
    )
    assert not here.clean and here.tables["transactions"].rows_quarantined > 0
    assert there.to_dict() == here.to_dict()
    rows = here.tables["transactions"].rows_in
    assert [d for t, d, _ in seen if t == "transactions"][-1] == rows
    assert len([t for t, _, _ in seen if t == "transactions"]) == -(-rows // 3_000) > 1
    for sub in ("accepted", "quarantine"):
        for file in sorted((tmp_path / "here" / sub).glob("*.parquet")):
            assert_frame_equal(
                pl.read_parquet(tmp_path / "there" / sub / file.name), pl.read_parquet(file)
            )
    here_report = json.loads((tmp_path / "here" / "report.json").read_text())
    there_report = json.loads((tmp_path / "there" / "report.json").read_text())
    assert there_report == here_report


def test_the_command_runs_on_dask_and_needs_a_scheduler(
    world_copy: Path, tmp_path: Path, scheduler: str
) -> None:
    runner = CliRunner()
    local = runner.invoke(app, ["validate", str(world_copy), "--rules", "polars", "--json"])
    there = runner.invoke(
        app,
        [
            "validate",
            str(world_copy),
            "--engine",
            "dask",
            "--scheduler",
            scheduler,
            "--rules",
            "polars",
            "--json",
        ],
    )
    assert local.exit_code == there.exit_code == 0, there.stderr
    strip = lambda text: {k: v for k, v in json.loads(text).items() if k != "validated_at"}  # noqa: E731
    assert strip(there.stdout) == strip(local.stdout)
    missing = runner.invoke(app, ["validate", str(world_copy), "--engine", "dask"])
    assert missing.exit_code == 2 and "--scheduler" in missing.stderr
    away = runner.invoke(
        app, ["validate", str(world_copy), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert away.exit_code == 2 and "no Dask scheduler at tcp://127.0.0.1:9" in away.stderr
    clash = runner.invoke(app, ["validate", str(world_copy), "--engine", "gx", "--rules", "polars"])
    assert clash.exit_code == 2 and "--rules" in clash.stderr
