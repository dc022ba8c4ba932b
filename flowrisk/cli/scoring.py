"""Commands of the analyst and the operator: ``score``, ``explain``, ``report``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from flowrisk.cli._app import (
    VerifyOption,
    app,
    console,
    err_console,
    exits,
    parse_as_of,
    progress_ticks,
)
from flowrisk.cli._tables import print_reasons, show_report, show_scored
from flowrisk.config import get_settings
from flowrisk.errors import ConfigError, DatasetNotFound
from flowrisk.models.batch import Explain, ScoreEngine
from flowrisk.models.drift import Drift
from flowrisk.models.monitoring import SCORING_EXPERIMENT
from flowrisk.models.registry import Bundle, Registry
from flowrisk.pipeline import (
    Lookup,
    ScoredDataset,
    explain_in_dataset,
    per_table,
    score_validated,
    write_case_report,
)

__all__ = ["explain_command", "report", "score"]

PANEL = "Scores, explanations and reports"

MODEL_HELP = "Registry URI of the model, e.g. models:/flowrisk/3 (default: the champion)."
AS_OF_HELP = "Score as of this date (default: the first month start after the last transaction)."
PURPOSE_HELP = "Why you look this entity up (a case reference); recorded in the audit trail."
ModelOption = Annotated[str | None, typer.Option(help=MODEL_HELP)]
AsOfOption = Annotated[str | None, typer.Option(help=AS_OF_HELP)]
PurposeOption = Annotated[str, typer.Option(help=PURPOSE_HELP, show_default=False)]


def _lookup(purpose: str, command: str) -> Lookup:
    """The audited lookup of ``command``, once its purpose passes the API's own rule."""
    from flowrisk.audit import Store
    from flowrisk.audit.purpose import check_purpose

    settings = get_settings()
    checked = check_purpose(purpose, settings.purpose_min_length, "--purpose")
    return Lookup(
        Store(settings.audit_url, timeout=settings.audit_timeout_seconds), checked, command
    )


def _bundle(model: str | None, dataset: Path) -> Bundle:
    """The registered model to score ``dataset`` with (default: the champion), loaded only
    once the dataset is known to exist, so a typo does not open or create the store."""
    if not dataset.is_dir():
        raise DatasetNotFound(f"{dataset}: dataset folder does not exist")
    return Registry.from_settings(get_settings()).load_bundle(model)


def _as_of(value: str | None) -> datetime | None:
    return parse_as_of(value) if value else None


def show_drift(drift: Drift | None) -> None:
    """The run's feature drift: a warning naming the top drifting features when any passes
    the threshold, the largest PSI otherwise, or why drift was not measured."""
    if drift is None:
        return
    if drift.status != "computed":
        err_console.print(f"note: feature drift not measured: {drift.note}", highlight=False)
        return
    against = f"the training reference ({drift.reference_rows:,} entities"
    against += f" as of {drift.reference_as_of[:10]})" if drift.reference_as_of else ")"
    if not drift.drifting:
        largest = next(iter(drift.psi), "-")
        console.print(
            f"Feature drift against {against}: largest PSI {drift.max_psi:.3f} ({largest}), "
            f"none above {drift.threshold}",
            highlight=False,
        )
        return
    top = ", ".join(f"{name} (PSI {value:.2f})" for name, value in drift.top())
    err_console.print(
        f"[yellow]warning:[/] feature drift: {len(drift.drifting)} of {len(drift.psi)} features "
        f"have a PSI above {drift.threshold} against {against}; most: {top}. Scores of a "
        "population unlike the training data may not hold the model's held-out metrics "
        "(PSI per feature in run.json)",
        highlight=False,
    )


def _track(scored: ScoredDataset, experiment: str) -> None:
    """Log the run to the MLflow server the settings name; a server that fails is a warning,
    not an error: the scores are written already."""
    from flowrisk.models.monitoring import log_scoring_run

    try:
        run_id = log_scoring_run(Registry.from_settings(get_settings()), scored.run, experiment)
    except ConfigError as exc:
        err_console.print(
            f"[yellow]warning:[/] scores written, but the run was not logged to MLflow: {exc}",
            highlight=False,
        )
        return
    console.print(f"Logged to MLflow: experiment {experiment}, run {run_id}", highlight=False)


@app.command(rich_help_panel=PANEL)
@exits
def score(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    model: ModelOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: <FLOWRISK_HOME>/scores).")
    ] = None,
    explain: Annotated[
        Explain, typer.Option(help="Which entities to explain: alerts (high, critical), all, none.")
    ] = "alerts",
    as_of: AsOfOption = None,
    partitions: Annotated[
        int | None,
        typer.Option(min=1, help="Entity partitions (default: ~10M transactions each)."),
    ] = None,
    engine: Annotated[
        ScoreEngine, typer.Option(help="local, or dask (with --scheduler).")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://127.0.0.1:8786.")
    ] = None,
    validate: Annotated[
        bool, typer.Option(help="Check the data contracts first (skip for validated data).")
    ] = True,
    verify: VerifyOption = True,
    experiment: Annotated[
        str,
        typer.Option(help="MLflow experiment of the run (logged when FLOWRISK_MLFLOW_URI is set)."),
    ] = SCORING_EXPERIMENT,
) -> None:
    """Validate DATASET against the data contracts, score every entity with a progress bar,
    explain the alerts, and write scores.parquet, explanations.parquet and run.json (with the
    PSI of every feature against the model's training reference; a warning names the features
    above 0.25). With a tracking server set, the run is logged to MLflow too."""
    when = _as_of(as_of)
    bundle = _bundle(model, dataset)
    with progress_ticks() as bars:
        scored = score_validated(
            dataset,
            bundle,
            out or get_settings().home / "scores",
            explain=explain,
            as_of=when,
            partitions=partitions,
            engine=engine,
            scheduler=scheduler,
            validate=validate,
            verify=verify,
            validation_tick=per_table(bars.tick),
            tick=bars.tick("scoring partitions"),
        )
    show_scored(scored)
    show_drift(scored.run.drift)
    if get_settings().mlflow_uri:
        _track(scored, experiment)


@app.command("explain", rich_help_panel=PANEL)
@exits
def explain_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    entity_id: Annotated[str, typer.Argument(help="The entity to explain.")],
    purpose: PurposeOption,
    model: ModelOption = None,
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verify: VerifyOption = True,
) -> None:
    """Why ENTITY_ID scores what it scores: reasons with values, baselines and evidence."""
    when = _as_of(as_of)
    lookup = _lookup(purpose, "flowrisk explain")
    bundle = _bundle(model, dataset)
    explained = explain_in_dataset(dataset, entity_id, bundle, lookup, when, verify=verify)
    when, bundle = explained.as_of, explained.bundle
    if as_json:
        body = {**explained.row, "as_of": when.isoformat()}
        console.print_json(json.dumps(body, default=str))
        return
    console.print(
        f"As of {when.date()}, model {escape(bundle.uri)} (version {bundle.version})",
        highlight=False,
    )
    print_reasons([explained.row])


@app.command(rich_help_panel=PANEL)
@exits
def report(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    entity_id: Annotated[str, typer.Argument(help="The entity to report on.")],
    purpose: PurposeOption,
    out: Annotated[
        Path | None, typer.Option(help="File to write (default report.html or report.pdf).")
    ] = None,
    model: ModelOption = None,
    as_of: AsOfOption = None,
    verify: VerifyOption = True,
    locale: Annotated[
        Literal["en", "fr"] | None,
        typer.Option(help="Language of the report (default FLOWRISK_LOCALE, else en)."),
    ] = None,
    fmt: Annotated[
        Literal["html", "pdf"],
        typer.Option("--format", help="html: a self-contained page; pdf: for the case file."),
    ] = "html",
) -> None:
    """Write a case report on ENTITY_ID, headed by the purpose as case reference: score, band,
    reasons with every evidence row, contribution chart, monthly flows, named counterparties,
    owners and holdings; HTML or PDF, in English or French."""
    when = _as_of(as_of)
    lookup = _lookup(purpose, "flowrisk report")
    bundle = _bundle(model, dataset)
    target = out or Path(f"report.{fmt}")
    explained = write_case_report(
        dataset,
        entity_id,
        bundle,
        target,
        lookup,
        when,
        verify=verify,
        locale=locale or get_settings().locale,
        pdf=fmt == "pdf",
    )
    show_report(explained.row, target)
