"""Commands about datasets: ``validate``, ``contracts``, ``catalog``, ``features``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from flowrisk.cli._app import (
    EngineOption,
    SchedulerOption,
    VerifyOption,
    app,
    console,
    exits,
    parse_as_of,
    progress_ticks,
)
from flowrisk.cli._tables import print_validation, show_markdown
from flowrisk.data_contracts import Engine, validate_dataset
from flowrisk.errors import InvalidParameter
from flowrisk.features import Baselines
from flowrisk.io import replace_file_atomically
from flowrisk.pipeline import per_table, write_profiles

__all__ = ["catalog_command", "contracts", "features", "validate"]

PANEL = "Datasets and features"
# where validation runs, or (the older spelling) which rules engine runs here
Placement = Literal["local", "dask", "gx", "polars"]


def _placement(
    engine: str, rules: Engine | None, scheduler: str | None
) -> tuple[Engine, str | None]:
    """The rules engine and the scheduler (None: here) of ``--engine`` and ``--rules``."""
    if engine in ("gx", "polars"):
        if rules is not None and rules != engine:
            raise InvalidParameter("--rules", f"--engine {engine} already runs the {engine} rules")
        return engine, None  # type: ignore[return-value]
    if engine == "dask" and not scheduler:
        raise InvalidParameter("--scheduler", "--engine dask needs a scheduler address")
    return rules or "gx", scheduler if engine == "dask" else None


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
        Placement,
        typer.Option(
            help="Where the row rules run: local, or dask (chunk by chunk on the workers of "
            "--scheduler, which must see the dataset under the same absolute path). "
            "gx and polars (the older spelling) mean local with those --rules.",
        ),
    ] = "local",
    rules: Annotated[
        Engine | None,
        typer.Option(
            help="gx runs the Great Expectations suites (default); polars runs the same "
            "rules about 5 times faster.",
        ),
    ] = None,
    scheduler: SchedulerOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    verify: VerifyOption = True,
) -> None:
    """Check every table against its data contract; exit 0 if clean, 1 if rows were rejected,
    2 if the dataset cannot be read. With --engine dask the row rules run on a Dask cluster
    (same report, same files); the dataset rules and the writing run here."""
    checker, address = _placement(engine, rules, scheduler)
    with progress_ticks(transient=True) as bars:
        result = validate_dataset(
            dataset,
            quarantine=quarantine,
            engine=checker,
            progress=per_table(bars.tick),
            verify=verify,
            scheduler=address,
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
            help="Entity partitions (default: one per 10 M transactions), one Dask task each.",
        ),
    ] = None,
    verify: VerifyOption = True,
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
) -> None:
    """Build the entity profiles (one row per entity, every catalog feature) at a date. With
    --engine dask the partitions (and the sector baselines) are built on a Dask cluster: the
    same files."""
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
            engine=engine,
            scheduler=scheduler,
        )
    parts = written.partitions
    console.print(
        f"{written.rows:,} profiles x {written.features} features as of "
        f"{when.isoformat()} in {written.seconds:.1f} s "
        f"({parts} partition{'s' if parts > 1 else ''}) -> {out}",
        highlight=False,
    )
