"""A quarantine folder is replaced as one unit: a validation that fails while writing leaves
the previous quarantine byte for byte and no partial; a foreign folder is never replaced."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import flowrisk.data_contracts.validate as validate_module
from flowrisk.data_contracts import validate_dataset
from flowrisk.errors import InvalidParameter


def _content(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_failed_write_leaves_the_previous_quarantine(
    clean_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "validated"
    validate_dataset(clean_world, quarantine=out, engine="polars")
    before = _content(out)
    assert "report.json" in before and "accepted/transactions.parquet" in before
    write = validate_module._write
    written: list[str] = []

    def fail_third(out: Path, prep: object, *rest: object) -> None:
        written.append("x")
        if len(written) == 3:
            raise pl.exceptions.ComputeError("interrupted")
        write(out, prep, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(validate_module, "_write", fail_third)
    with pytest.raises(pl.exceptions.ComputeError):
        validate_dataset(clean_world, quarantine=out, engine="polars")
    assert _content(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validated"]


def test_a_foreign_quarantine_folder_is_refused(clean_world: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.csv").write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InvalidParameter, match="not a flowrisk quarantine"):
        validate_dataset(clean_world, quarantine=tmp_path, engine="polars")
    assert [p.name for p in tmp_path.iterdir()] == ["mine.csv"]
