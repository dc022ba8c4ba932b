"""``quarantine_when="dirty"``: clean data is validated once and never copied; dirty data gets
the same accepted/ and quarantine/ datasets as an unconditional quarantine."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flowrisk.data_contracts import validate_dataset


def test_clean_data_writes_nothing(clean_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "validated"
    report = validate_dataset(clean_world, quarantine=out, engine="polars", quarantine_when="dirty")
    assert report.clean and not out.exists()


def test_dirty_data_is_quarantined_as_always(world_copy: Path, tmp_path: Path) -> None:
    tx = pl.read_parquet(world_copy / "transactions.parquet")
    broken = pl.when(pl.int_range(pl.len()) == 7).then(-1.0).otherwise(pl.col("amount"))
    tx.with_columns(broken.alias("amount")).write_parquet(world_copy / "transactions.parquet")
    written = {}
    for when in ("dirty", "always"):
        out = tmp_path / when
        report = validate_dataset(world_copy, quarantine=out, engine="polars", quarantine_when=when)
        assert report.rows_quarantined == 1
        written[when] = {
            p.relative_to(out).as_posix(): pl.read_parquet(p)
            for p in sorted(out.rglob("*.parquet"))
        }
    assert written["dirty"].keys() == written["always"].keys()
    for name, frame in written["dirty"].items():
        assert frame.equals(written["always"][name]), name
    assert written["dirty"]["quarantine/transactions.parquet"]["amount"].to_list() == [-1.0]
