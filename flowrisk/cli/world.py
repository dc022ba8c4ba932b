"""Commands about synthetic worlds and the main job: ``synth``, ``summary``, ``run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flowrisk.cli._app import app, console, exits, progress_ticks, staged
from flowrisk.cli._tables import (
    print_reasons,
    print_summary,
    print_validation,
    show_report,
    show_scored,
    show_training,
)
from flowrisk.config import get_settings
from flowrisk.errors import InvalidParameter
from flowrisk.models.registry import MODEL_NAME
from flowrisk.pipeline import (
    Event,
    Generated,
    Profiled,
    Reported,
    Scored,
    Trained,
    Validated,
    generate,
    main_job,
)
from flowrisk.schema import SHORT_WINDOW_TYPOLOGIES, TYPOLOGIES
from flowrisk.synth import WorldParams
from flowrisk.synth.params import WORLD_SHAPES

__all__ = ["run", "summary", "synth"]

PANEL = "Synthetic worlds and the main job"


def _pairs(values: list[str] | None, option: str) -> dict[str, float]:
    """Parse ``NAME=VALUE`` options into a dict, naming the option on error."""
    out: dict[str, float] = {}
    for item in values or []:
        name, sep, raw = item.partition("=")
        if not sep:
            raise InvalidParameter(option, f"expected NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = float(raw)
        except ValueError:
            raise InvalidParameter(option, f"{raw!r} is not a number") from None
    return out


@app.command(rich_help_panel=PANEL)
@exits
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the dataset to.")],
    entities: Annotated[int, typer.Option(help="Number of people and companies.")] = 10_000,
    months: Annotated[int, typer.Option(help="Length of the period in months.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same bytes.")] = 42,
    typologies: Annotated[
        str | None,
        typer.Option(
            help=f"Comma-separated typologies to inject (default all): {', '.join(TYPOLOGIES)}.",
        ),
    ] = None,
    prevalence: Annotated[
        list[str] | None,
        typer.Option(help="Share of entities carrying a typology, NAME=SHARE (repeatable)."),
    ] = None,
    intensity: Annotated[
        list[str] | None,
        typer.Option(
            help="Strength of a typology's signature, NAME=FACTOR, 1 = default (repeatable).",
        ),
    ] = None,
    camouflage: Annotated[
        bool, typer.Option(help="Give the guilty an ordinary financial life beside their schemes.")
    ] = True,
    shape: Annotated[
        str,
        typer.Option(
            help=f"World shape, one of {', '.join(WORLD_SHAPES)}: 'edge-list' keeps only amounts, "
            "times and counterparties (no cash, crypto, sectors, owners, assets or reports) and "
            f"injects only the short-window typologies ({', '.join(SHORT_WINDOW_TYPOLOGIES)}).",
        ),
    ] = "full",
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Generate a synthetic world (every table of the data model, or a plain edge list with
    --shape edge-list) with injected typologies."""
    if shape not in WORLD_SHAPES:
        raise InvalidParameter(
            "--shape", f"must be one of {', '.join(WORLD_SHAPES)}, got {shape!r}"
        )
    make = WorldParams.edge_list if shape == "edge-list" else WorldParams
    base = make(entities=entities, months=months, seed=seed, camouflage=camouflage)
    params = base.with_overrides(
        only=[t.strip() for t in typologies.split(",") if t.strip()] if typologies else None,
        prevalence=_pairs(prevalence, "--prevalence"),
        intensity=_pairs(intensity, "--intensity"),
    )
    with progress_ticks() as bars:
        generated = generate(params, out, bars.tick)
    if json_out:
        console.print_json(json.dumps(generated.manifest))
    else:
        print_summary(generated.manifest, out, generated.seconds)


@app.command(rich_help_panel=PANEL)
@exits
def summary(dataset: Annotated[Path, typer.Argument(help="Dataset folder.")]) -> None:
    """Summarise a generated dataset from its manifest."""
    from flowrisk.io import read_manifest

    print_summary(read_manifest(dataset), dataset)


def _show(event: Event) -> None:
    """What the main job prints after each stage."""
    match event:
        case Generated(manifest, out, seconds):
            print_summary(manifest, out, seconds)
            console.rule("2. Validate it against the data contracts (Great Expectations)")
        case Validated(report, accepted, seconds):
            print_validation(report)
            console.print(
                f"{report.rows_quarantined:,} rows quarantined in {seconds:.1f} s; accepted "
                f"dataset in {accepted}.",
                highlight=False,
            )
            console.rule("3. Build point-in-time entity profiles")
        case Profiled():
            _show_profiles(event)
            console.rule("4. Train, evaluate against the baselines, register in MLflow")
        case Trained(result, tracking_uri, promoted):
            show_training(result, tracking_uri)
            if promoted:
                console.print(
                    f"{MODEL_NAME}@champion -> version {result.version} (first model)",
                    highlight=False,
                )
            console.rule("5. Score every entity with the champion, explain the alerts")
        case Scored(scored, top):
            show_scored(scored)
            console.print(f"Top {top.height} alerts of {scored.run.explained:,}:", highlight=False)
            print_reasons(top, evidence_shown=3)
            console.rule("6. Case report on the riskiest entity")
        case Reported(explained, path):
            if explained is None or path is None:
                console.print("No entity reached the high band: no case report.")
            else:
                show_report(explained.row, path)


def _show_profiles(event: Profiled) -> None:
    from rich.table import Table

    w = event.written
    console.print(
        f"{w.rows:,} profiles x {w.features} features as of {w.as_of.date()} in "
        f"{w.seconds:.1f} s -> {w.path}",
        highlight=False,
    )
    if event.strongest.is_empty():
        return
    table = Table(
        title="Strongest single feature per typology (ROC-AUC, guilty vs honest)",
        title_justify="left",
    )
    for col in ("typology", "feature", "ROC-AUC"):
        table.add_column(col, justify="right" if col == "ROC-AUC" else "left")
    for row in event.strongest.iter_rows(named=True):
        table.add_row(row["typology"], row["feature"], f"{row['auc']:.3f}")
    console.print(table)


@app.command(rich_help_panel=PANEL)
@exits
def run(
    entities: Annotated[int, typer.Option(help="Size of the generated world.")] = 20_000,
    seed: Annotated[int | None, typer.Option(help="Seed (default: FLOWRISK_SEED or 42).")] = None,
) -> None:
    """The main job on embedded defaults: generate a world under FLOWRISK_HOME, validate it
    (accepted and quarantined rows under data/validated), build its entity profiles, train a
    model against the baselines and register it in MLflow (champion if it is the first),
    score every entity with the champion, print the top alerts with their reasons and write
    a case report on the riskiest."""
    console.rule("1. Generate a synthetic world")
    settings = get_settings()
    for event in staged(
        lambda ticks: main_job(settings, entities=entities, seed=seed, ticks=ticks)
    ):
        _show(event)
