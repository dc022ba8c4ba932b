"""Reading and writing dataset folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from flowrisk.errors import DatasetNotFound, SchemaMismatch
from flowrisk.io import read_dataset, read_manifest, write_table
from flowrisk.schema import INPUT_TABLES, REQUIRED_TABLES, TABLES


def test_read_dataset_conforms_to_schema(small_world_dir: Path) -> None:
    frames = read_dataset(small_world_dir)
    assert set(frames) == set(INPUT_TABLES)
    for name, frame in frames.items():
        assert frame.collect_schema() == TABLES[name].schema, name


def test_labels_are_read_only_when_asked(small_world_dir: Path) -> None:
    assert "labels" not in read_dataset(small_world_dir)
    assert "labels" in read_dataset(
        small_world_dir, tables=["entities", "accounts", "transactions", "labels"]
    )


def test_missing_folder_and_required_table(tmp_path: Path, small_world_dir: Path) -> None:
    with pytest.raises(DatasetNotFound, match="does not exist"):
        read_dataset(tmp_path / "nope")
    copy = tmp_path / "copy"
    shutil.copytree(small_world_dir, copy)
    (copy / "accounts.parquet").unlink()
    with pytest.raises(DatasetNotFound, match="accounts"):
        read_dataset(copy)


def test_missing_required_column_is_named(tmp_path: Path, small_world_dir: Path) -> None:
    for name in REQUIRED_TABLES:
        shutil.copy(small_world_dir / f"{name}.parquet", tmp_path / f"{name}.parquet")
    tx = pl.read_parquet(tmp_path / "transactions.parquet").drop("amount")
    tx.write_parquet(tmp_path / "transactions.parquet")
    with pytest.raises(SchemaMismatch, match=r"transactions\.amount"):
        read_dataset(tmp_path)


def test_csv_import_round_trips(tmp_path: Path, small_world_dir: Path) -> None:
    """A dataset exported to CSV (lists joined with '|') reads back identical."""
    original = {n: f.collect() for n, f in read_dataset(small_world_dir).items()}
    for name, frame in original.items():
        exported = frame.with_columns(
            pl.col(c).cast(pl.List(pl.String)).list.join("|")
            for c, t in frame.schema.items()
            if isinstance(t, pl.List)
        )
        exported.write_csv(tmp_path / f"{name}.csv")
    back = {n: f.collect() for n, f in read_dataset(tmp_path).items()}
    for name, frame in original.items():
        assert back[name].equals(frame), name


def test_optional_columns_are_filled(tmp_path: Path, small_world_dir: Path) -> None:
    for name in REQUIRED_TABLES:
        frame = pl.read_parquet(small_world_dir / f"{name}.parquet")
        optional = TABLES[name].optional_columns
        frame.drop(optional).write_parquet(tmp_path / f"{name}.parquet")
    tx = read_dataset(tmp_path)["transactions"].collect()
    assert tx["branch_id"].null_count() == tx.height
    assert tx.schema == TABLES["transactions"].schema


def test_write_table_and_manifest(tmp_path: Path, small_world_dir: Path) -> None:
    entities = pl.read_parquet(small_world_dir / "entities.parquet")
    write_table(entities, tmp_path, "entities")
    assert pl.read_parquet(tmp_path / "entities.parquet").equals(entities)
    manifest = read_manifest(small_world_dir)
    assert manifest["rows"]["entities"] == entities.height
    with pytest.raises(DatasetNotFound):
        read_manifest(tmp_path)
