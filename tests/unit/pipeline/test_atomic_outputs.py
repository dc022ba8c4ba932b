"""The services replace their outputs as one unit: validated scoring (scores, explanations,
run.json and the quarantine under validated/) and profiles (with their baselines)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from flowrisk.io import ParquetSink
from flowrisk.models.bundle import Bundle
from flowrisk.pipeline import score_validated, write_profiles
from tests.conftest import TrainedWorld


def _content(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def bundle(trained_world: TrainedWorld) -> Bundle:
    return Bundle(trained_world.model, trained_world.baselines, "models:/flowrisk/1", "1")


def test_a_failed_validated_run_leaves_the_previous_one_with_its_quarantine(
    trained_world: TrainedWorld, bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dirty = tmp_path / "dirty"
    shutil.copytree(trained_world.folder, dirty)
    tx = pl.read_parquet(dirty / "transactions.parquet")
    broken = pl.when(pl.int_range(pl.len()) == 5).then(-3.0).otherwise(pl.col("amount"))
    tx.with_columns(broken.alias("amount")).write_parquet(dirty / "transactions.parquet")
    manifest = json.loads((dirty / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("sha256", None)  # the file was changed on purpose
    (dirty / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    out = tmp_path / "runs" / "out"
    first = score_validated(dirty, bundle, out, explain="none", as_of=trained_world.as_of)
    assert first.run.dataset == str(out / "validated" / "accepted")
    assert first.run.source == str(dirty)
    before = _content(out)
    assert "validated/quarantine/transactions.parquet" in before and "run.json" in before

    def fail(self: ParquetSink, frame: object) -> None:
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(ParquetSink, "write", fail)
    with pytest.raises(RuntimeError):
        score_validated(dirty, bundle, out, explain="none", as_of=trained_world.as_of)
    assert _content(out) == before
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["out"]


def test_a_failed_profile_write_leaves_the_previous_files(
    small_world_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    out = tmp_path / "profiles.parquet"
    when = datetime(2025, 6, 1, tzinfo=UTC)
    write_profiles(small_world_dir, when, out)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["profiles.baselines.json", "profiles.parquet"]

    def fail(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", fail)
    from flowrisk.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match=r"cannot write .*Read-only file system"):
        write_profiles(small_world_dir, when, out, baselines=None)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
