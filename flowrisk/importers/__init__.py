"""Importers of the public formats the AML research community uses (IBM AMLSim outputs, IBM
AMLworld transaction files). Each maps its source to the data model's tables; ``write_imported``
then puts them through the data contracts, so an import yields an ordinary dataset plus the
quarantine of the rows it could not accept (never dropped)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.data_contracts import ValidationReport, validate_dataset
from flowrisk.io import (
    MANIFEST_NAME,
    check_replaceable,
    replace_folder_atomically,
    write_manifest,
)

__all__ = ["write_imported"]


def write_imported(
    tables: Mapping[str, pl.DataFrame], out: Path, source: Mapping[str, Any]
) -> ValidationReport:
    """Validate ``tables`` and write the accepted rows as a dataset at ``out`` (with a manifest
    naming ``source``), and the rejected ones, with their rules, under ``out/quarantine``.
    Returns the validation report. ``out`` is replaced only once the import is complete, and
    only if it is empty or a flowrisk dataset (a folder with a manifest): anything else is
    refused and left untouched."""
    check_replaceable(out, MANIFEST_NAME, "a flowrisk dataset")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "staged"
        staged.mkdir()
        for name, frame in tables.items():  # enum columns stay text: unknown values then
            frame.write_parquet(staged / f"{name}.parquet")  # reach the contracts' rules
        days = tables["transactions"]["ts"].drop_nulls().dt.date()
        period = {"start": str(days.min()), "end": str(days.max())} if days.len() else {}
        manifest = {
            "source": dict(source),
            "period": period,
            "rows": {n: f.height for n, f in sorted(tables.items())},
        }
        write_manifest(staged, manifest)
        checked = Path(tmp) / "checked"
        report = validate_dataset(staged, quarantine=checked, engine="polars")
        accepted = {n: t.rows_accepted for n, t in report.tables.items()}
        with replace_folder_atomically(out) as folder:
            shutil.copytree(checked / "accepted", folder, dirs_exist_ok=True)
            if not report.clean:
                shutil.copytree(checked / "quarantine", folder / "quarantine")
            rows = {"rows": accepted, "quarantined": report.rows_quarantined}
            write_manifest(folder, {**manifest, **rows})  # last: a folder without it is no dataset
    return report
