"""How the command line shows what the services return: tables and reason lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from flowrisk.cli._app import console, err_console
from flowrisk.data_contracts import ValidationReport
from flowrisk.models.registry import MODEL_NAME
from flowrisk.models.training_run import TrainingResult
from flowrisk.pipeline import ScoredDataset

__all__ = [
    "print_band_shares",
    "print_metrics",
    "print_reasons",
    "print_summary",
    "print_validation",
    "show_markdown",
    "show_report",
    "show_scored",
    "show_training",
]


def print_summary(manifest: Mapping[str, Any], out: Path, seconds: float | None = None) -> None:
    """A generated world: rows per table, then members per typology against the request."""
    rows = Table(title=f"World in {out}", title_justify="left")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for name, count in manifest["rows"].items():
        rows.add_row(name, f"{count:,}")
    console.print(rows)
    labels = manifest["labels"]
    n = labels["entities"]
    typ = Table(
        title=f"Laundering typologies ({labels['positive']:,} of {n:,} entities)",
        title_justify="left",
    )
    typ.add_column("typology")
    for col in ("entities", "prevalence", "requested"):
        typ.add_column(col, justify="right")
    params = manifest["parameters"]["typologies"]
    for name, count in labels["per_typology"].items():
        typ.add_row(name, f"{count:,}", f"{count / n:.2%}", f"{params[name]['prevalence']:.2%}")
    console.print(typ)
    period = manifest["period"]
    extra = f" in {seconds:.1f} s" if seconds is not None else ""
    shape = manifest["parameters"].get("shape", "full")
    shaped = f", {shape} shape" if shape != "full" else ""
    console.print(
        f"Period {period['start']} to {period['end']}, seed {manifest['seed']}, "
        f"generator {manifest['generator_version']}{shaped}{extra}."
    )


def print_validation(report: ValidationReport) -> None:
    """Rows in, accepted and quarantined per table, with the rules that rejected them."""
    table = Table(title=f"Validation of {report.dataset} ({report.engine})", title_justify="left")
    for col in ("table", "rows", "accepted", "quarantined", "failing rules"):
        table.add_column(col, justify="left" if col in ("table", "failing rules") else "right")
    for t in report.tables.values():
        rules = ", ".join(f"{name} ({count:,})" for name, count in t.rules.items()) or "-"
        table.add_row(
            t.table, f"{t.rows_in:,}", f"{t.rows_accepted:,}", f"{t.rows_quarantined:,}", rules
        )
    console.print(table)
    for t in report.tables.values():
        if t.extra_columns:
            console.print(
                f"note: {t.source} has columns outside the data model, kept as they "
                f"are: {', '.join(t.extra_columns)}",
                highlight=False,
            )


def print_metrics(metrics: Mapping[str, Mapping[str, Any]], title: str) -> None:
    """Headline metrics, one row per model, and the recall a perfect ranking would reach at each
    budget (the same held-out rows for every model); then recall per typology, one column per
    model."""
    from flowrisk.models.card import typology_recall
    from flowrisk.models.evaluate import CEILINGS, HEADLINE

    first = next(iter(metrics.values()))
    ceilings = all(ceiling in first for ceiling in CEILINGS.values())
    table = Table(
        title=title,
        title_justify="left",
        caption="ceiling: the recall a perfect ranking reaches at each budget, given how many "
        "entities are positive"
        if ceilings
        else None,
        caption_justify="left",
    )
    table.add_column("model")
    for label in HEADLINE.values():
        table.add_column(label, justify="right")
    for name, values in metrics.items():
        table.add_row(name, *(f"{values[c]:.3f}" for c in HEADLINE))
    if ceilings:
        table.add_row(
            "[dim]ceiling[/]",
            *(f"[dim]{first[CEILINGS[c]]:.3f}[/]" if c in CEILINGS else "" for c in HEADLINE),
        )
    console.print(table)
    first = next(iter(metrics.values()))["recall_per_typology"]
    if not first:
        return
    per = Table(title="Recall per typology at a 1% alert budget", title_justify="left")
    per.add_column("typology")
    per.add_column("positives", justify="right")
    for name in metrics:
        per.add_column(name, justify="right")
    for typology, values in first.items():
        per.add_row(
            typology,
            str(values["positives"]),
            *(f"{typology_recall(m, typology):.2f}" for m in metrics.values()),
        )
    console.print(per)


def print_reasons(rows: pl.DataFrame | list[dict[str, Any]], evidence_shown: int = 5) -> None:
    """The reason lines of explanation rows, as an analyst reads them."""
    from flowrisk.models.explain import reason_lines

    items = rows.iter_rows(named=True) if isinstance(rows, pl.DataFrame) else rows
    for row in items:
        for line in reason_lines(row, evidence_shown=evidence_shown):
            console.print(escape(line), highlight=False, soft_wrap=True)


def show_markdown(text: str, raw: bool, title: str | None = None) -> None:
    """Print generated Markdown as it is (for files) or rendered (for people)."""
    if raw:
        typer.echo(text, nl=False)
        return
    from rich.markdown import Markdown

    if title:
        console.print(title)
    console.print(Markdown(text))


def show_training(result: TrainingResult, tracking_uri: str) -> None:
    """Held-out metrics of a training run and where the version was registered."""
    print_metrics(
        result.metrics,
        f"Held-out metrics (test snapshot {result.dates[-1]}, entities never trained on)",
    )
    console.print(
        f"Registered {MODEL_NAME} version {result.version} (run {result.run_id}) in "
        f"{tracking_uri}, with its model card, charts (plots/) and held-out data.",
        highlight=False,
    )


def show_scored(scored: ScoredDataset) -> None:
    """Band counts of a batch run, after the quarantine it needed, if any."""
    if scored.quarantined is not None:
        print_validation(scored.quarantined)
        err_console.print(
            f"{scored.quarantined.rows_quarantined:,} rows quarantined in "
            f"{scored.out / 'validated'}; scoring the accepted rows",
            highlight=False,
        )
    run, bundle = scored.run, scored.bundle
    bands = ", ".join(f"{n:,} {band}" for band, n in run.bands.items())
    console.print(
        f"Scored {run.entities:,} entities as of {scored.as_of.date()} with {bundle.uri} "
        f"(version {bundle.version}) in {run.seconds:.1f} s: {bands}; {run.explained:,} "
        f"explained -> {scored.out}",
        highlight=False,
    )
    print_band_shares(run.bands, bundle.model.alert_budget)


def print_band_shares(counts: Mapping[str, int], alert_budget: float) -> None:
    """Entities per band against the share the alert budget set on validation data, and a
    warning on standard error when a band drifted beyond the tolerance."""
    from flowrisk.models.bands import SHARE_TOLERANCE, band_shares, drift_warning

    shares = band_shares(counts, alert_budget)
    table = Table(
        title=f"Bands against the alert budget ({alert_budget:.2%} high or critical; "
        f"tolerance {SHARE_TOLERANCE:.0%} of each target)",
        title_justify="left",
    )
    table.add_column("band")
    for col in ("entities", "share", "target", ""):
        table.add_column(col, justify="right")
    for s in reversed(shares):
        flag = "drifted" if s.drifted else "ok"
        table.add_row(s.band, f"{s.entities:,}", f"{s.share:.2%}", f"{s.target:.2%}", flag)
    console.print(table)
    warning = drift_warning(shares)
    if warning:
        err_console.print(f"warning: {warning}", highlight=False)


def show_report(row: Mapping[str, Any], out: Path) -> None:
    """Where a case report went, with the score it shows."""
    from flowrisk.models.scorer import probability_text, score_text

    console.print(
        f"{row['entity_id']}: score {score_text(row['score'])} ({row['band']}, probability "
        f"{probability_text(row['probability'])}) -> {out}",
        highlight=False,
    )
