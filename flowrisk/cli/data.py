"""Commands about datasets: ``validate``, ``contracts``, ``catalog``, ``features``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowrisk.cli._app import VerifyOption, app, console, exits, parse_as_of, progress_ticks
from flowrisk.cli._tables import print_validation, show_markdown
from flowrisk.data_contracts import Engine, validate_dataset
from flowrisk.features import Baselines
from flowrisk.io import replace_file_atomically
from flowrisk.pipeline import per_table, write_profiles

__all__ = ["catalog_command", "contracts", "features", "validate"]

PANEL = "Datasets and features"


@app.command(rich_help_panel=PANEL)
@exits
def validate(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder (Parquet or CSV tables).")],
    quarantine: Annotated[
        Path | None,
        typer.Option(help="Write accepted/ and quarantine/ datasets and report.json here."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the machine-readable JSON report to this file.")
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="gx runs the Great Expectations suites; polars runs the same rules faster.",
        ),
    ] = "gx",
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    verify: VerifyOption = True,
) -> None:
    """Check every table against its data contract; exit 0 if clean, 1 if rows were rejected,
    2 if the dataset cannot be read."""
    with progress_ticks(transient=True) as bars:
        result = validate_dataset(
            dataset,
            quarantine=quarantine,
            engine=engine,
            progress=per_table(bars.tick),
            verify=verify,
        )
    if report is not None:  # whole or not at all: a reader never sees half a report
        with replace_file_atomically(report) as staged:
            staged.write_text(result.to_json() + "\n", encoding="utf-8")
    if json_out:
        console.print_json(result.to_json())
    else:
        print_validation(result)
        if quarantine is not None:
            console.print(
                f"Accepted rows in {quarantine / 'accepted'}, rejected rows with their "
                f"rules in {quarantine / 'quarantine'}.",
                highlight=False,
            )
    if not result.clean:
        raise typer.Exit(1)


@app.command(rich_help_panel=PANEL)
def contracts(
    markdown: Annotated[bool, typer.Option(help="Print Markdown (as in the README).")] = False,
) -> None:
    """Show the data contract of every table, generated from the suites."""
    from flowrisk.data_contracts.docs import contract_markdown

    show_markdown(contract_markdown(), markdown)


@app.command("catalog", rich_help_panel=PANEL)
def catalog_command(
    markdown: Annotated[bool, typer.Option(help="Print Markdown (as in the README).")] = False,
) -> None:
    """Show the feature catalog of the current feature set."""
    from flowrisk.features import FEATURE_SET, FEATURE_SET_VERSION, catalog_markdown

    show_markdown(catalog_markdown(), markdown, f"Feature set {FEATURE_SET} {FEATURE_SET_VERSION}")


@app.command(rich_help_panel=PANEL)
@exits
def features(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of", help="Profile date (UTC); only events strictly before it are used."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Parquet file to write the profiles to.")],
    baselines: Annotated[
        Path | None,
        typer.Option(
            help="Fitted baselines (JSON) to compare with; default: fit them on this dataset.",
        ),
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Entity partitions built one after another (default: one per 10 M transactions).",
        ),
    ] = None,
    verify: VerifyOption = True,
) -> None:
    """Build the entity profiles (one row per entity, every catalog feature) at a date."""
    when = parse_as_of(as_of)
    fitted = Baselines.from_json(baselines.read_text(encoding="utf-8")) if baselines else None
    with progress_ticks() as bars:
        written, _ = write_profiles(
            dataset,
            when,
            out,
            baselines=fitted,
            partitions=partitions,
            tick=bars.tick("building profiles (entity partitions)"),
            verify=verify,
        )
    parts = written.partitions
    console.print(
        f"{written.rows:,} profiles x {written.features} features as of "
        f"{when.isoformat()} in {written.seconds:.1f} s "
        f"({parts} partition{'s' if parts > 1 else ''}) -> {out}",
        highlight=False,
    )
