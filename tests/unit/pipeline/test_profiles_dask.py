"""`flowrisk features` on a Dask cluster: the same partition function as here on the workers,
the same profiles and baselines files, and the command's --engine dask --scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.pipeline import write_profiles

AS_OF = datetime(2025, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_dask_writes_the_local_files(small_world_dir: Path, tmp_path: Path, scheduler: str) -> None:
    here, here_rows = write_profiles(
        small_world_dir, AS_OF, tmp_path / "here.parquet", partitions=3
    )
    ticks: list[tuple[int, int | None]] = []
    there, there_rows = write_profiles(
        small_world_dir,
        AS_OF,
        tmp_path / "there.parquet",
        partitions=3,
        engine="dask",
        scheduler=scheduler,
        tick=lambda done, total: ticks.append((done, total)),
    )
    assert ticks == [(1, 3), (2, 3), (3, 3)]
    assert there.rows == here.rows == 2_000 and there.partitions == 3
    assert_frame_equal(there_rows, here_rows)
    assert_frame_equal(pl.read_parquet(there.path), pl.read_parquet(here.path))
    assert there.baselines_path.read_text() == here.baselines_path.read_text()
    assert here_rows["entity_id"].is_sorted() and here_rows["entity_id"].is_unique().all()


def test_the_command_runs_on_dask(small_world_dir: Path, tmp_path: Path, scheduler: str) -> None:
    runner = CliRunner()
    out = tmp_path / "profiles.parquet"
    args = ["features", str(small_world_dir), "--as-of", "2025-12-01", "--out", str(out)]
    done = runner.invoke(app, [*args, "--engine", "dask", "--scheduler", scheduler])
    assert done.exit_code == 0, done.stderr
    assert pl.read_parquet(out).height == 2_000
    missing = runner.invoke(app, [*args, "--engine", "dask"])
    assert missing.exit_code == 2 and "scheduler" in missing.stderr
