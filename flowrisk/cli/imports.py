"""``flowrisk import amlsim|amlworld``: public AML research formats as datasets."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from flowrisk.cli._app import app, console, exits
from flowrisk.cli._tables import print_validation
from flowrisk.errors import InvalidParameter

__all__ = ["import_amlsim", "import_amlworld", "import_app"]

PANEL = "Datasets and features"

import_app = typer.Typer(
    help="Import public AML research formats as datasets (through the data contracts).",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import", rich_help_panel=PANEL)


def _imported(tables: dict[str, Any], out: Path, source: dict[str, Any]) -> None:
    """Write the imported tables through the contracts and say what was quarantined."""
    from flowrisk.importers import write_imported

    report = write_imported(tables, out, source)
    print_validation(report)
    console.print(
        f"{report.rows_quarantined:,} rows quarantined"
        + (f" (with their rules in {out / 'quarantine'})" if report.rows_quarantined else "")
        + f"; dataset in {out}",
        highlight=False,
    )


@import_app.command("amlsim")
@exits
def import_amlsim(
    source: Annotated[Path, typer.Argument(help="AMLSim output folder or .tgz archive.")],
    out: Annotated[Path, typer.Option(help="Dataset folder to write.")],
    start: Annotated[str, typer.Option(help="Date of simulation step 0.")] = "2025-01-01",
    country: Annotated[str, typer.Option(help="Placeholder country (AMLSim has none).")] = "FR",
) -> None:
    """Import IBM AMLSim nodes.csv and transactions.csv (accounts as entities, transfers as
    wires, steps as days, isFraud as labels)."""
    from flowrisk.importers.amlsim import amlsim_tables

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise InvalidParameter("--start", f"{start!r} is not an ISO date") from None
    tables = amlsim_tables(source, start=first, country=country)
    _imported(tables, out, {"format": "amlsim", "path": source.name, "start": start})


@import_app.command("amlworld")
@exits
def import_amlworld(
    source: Annotated[
        Path, typer.Argument(help="AMLworld transactions CSV (e.g. HI-Small_Trans.csv).")
    ],
    out: Annotated[Path, typer.Option(help="Dataset folder to write.")],
    country: Annotated[str, typer.Option(help="Placeholder country (the files have none).")] = "FR",
) -> None:
    """Import an IBM AMLworld transaction file (currencies converted to EUR, payment formats
    mapped to channels, transaction labels kept, account-level labels derived)."""
    from flowrisk.importers.amlworld import amlworld_tables

    tables = amlworld_tables(source, country=country)
    _imported(tables, out, {"format": "amlworld", "path": source.name})
