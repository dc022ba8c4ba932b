"""Commands of the data scientist: ``train``, ``models list|promote|compare``, ``benchmark``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from flowrisk.cli._app import (
    EngineOption,
    SchedulerOption,
    VerifyOption,
    app,
    console,
    err_console,
    exits,
    progress_ticks,
    spinner,
)
from flowrisk.cli._tables import print_metrics, show_training
from flowrisk.config import get_settings
from flowrisk.errors import InvalidParameter
from flowrisk.models.bootstrap import RESAMPLES
from flowrisk.models.evaluate import HEADLINE
from flowrisk.models.registry import MODEL_NAME, Comparison, Registry
from flowrisk.models.training_run import train_and_register
from flowrisk.models.tune import SEARCH_SPACE, TuneResult
from flowrisk.models.tune_run import tune_dataset
from flowrisk.pipeline import reading_dataset, run_benchmark

__all__ = ["benchmark", "models_app", "train", "tune"]

PANEL = "Models and the registry"

models_app = typer.Typer(
    help="The model registry: list, compare and promote versions.", no_args_is_help=True
)
app.add_typer(models_app, name="models", rich_help_panel=PANEL)


def _read_params(path: Path | None) -> dict[str, Any]:
    """LightGBM overrides from a JSON or TOML file (a flat table of name = value)."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameter("--params", f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidParameter("--params", f"{path} must hold a table of name = value")
    return data


@app.command(rich_help_panel=PANEL)
@exits
def train(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder with labels.")],
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "flowrisk",
    seed: Annotated[int, typer.Option(help="Seed of LightGBM (the entity split is fixed).")] = 42,
    alert_budget: Annotated[
        float,
        typer.Option(help="Share of entities analysts can open; sets the high and critical bands."),
    ] = 0.01,
    params: Annotated[
        Path | None,
        typer.Option(help="JSON or TOML file of LightGBM parameters overriding the defaults."),
    ] = None,
    verify: VerifyOption = True,
    feedback: Annotated[
        Path | None,
        typer.Option(
            help="Analysts' decisions (`flowrisk feedback export`): confirmed and dismissed "
            "cases override the labels from their decision date on."
        ),
    ] = None,
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
    cluster_fit_above: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="With --engine dask, fit LightGBM on the cluster (lightgbm.dask) when the "
            "training matrix (rows x features x 8 bytes) is larger than this many GiB; "
            "smaller, it is fitted here. Default: a quarter of this machine's memory.",
        ),
    ] = None,
) -> None:
    """Train a risk model on point-in-time snapshots, evaluate it against the rule engine and
    raw-sums LightGBM on held-out entities and time, log it to MLflow and register it. With
    --engine dask the sector baselines and snapshots are built on a Dask cluster (the same
    split), and LightGBM is fitted there when the training matrix is above
    --cluster-fit-above."""
    from flowrisk.models.feedback import read_feedback

    overrides = _read_params(params)
    decisions = read_feedback(feedback) if feedback is not None else None
    settings = get_settings()
    registry = Registry.from_settings(settings)
    # train_and_register is in models/, which may not import pipeline: traced to a file here
    with spinner("training") as step, reading_dataset(dataset):
        result = train_and_register(
            dataset,
            registry=registry,
            experiment=experiment,
            seed=seed,
            alert_budget=alert_budget,
            params=overrides,
            params_file=params,
            step=step,
            verify=verify,
            feedback=decisions,
            engine=engine,
            scheduler=scheduler,
            fit_above=None if cluster_fit_above is None else int(cluster_fit_above * 2**30),
        )
    show_training(result, settings.tracking_uri)


def _tune_table(result: TuneResult, top: int) -> Table:
    """The best trials by validation PR-AUC, one column each, best first, with their
    parameters as rows (a table that fits a narrow terminal)."""
    ranked = result.ranked(top)
    valid = result.split["valid"]
    table = Table(
        title=f"Best {len(ranked)} of {len(result.trials)} trials by validation PR-AUC "
        f"({valid['positives']} positive of {valid['rows']:,} rows; test rows unused)",
        title_justify="left",
    )
    table.add_column("", no_wrap=True)
    for t in ranked:
        table.add_column(f"trial {t.number}", justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("validation PR-AUC", [f"{t.value:.4f}" if t.value is not None else "-" for t in ranked]),
        ("state", [t.state for t in ranked]),
        ("rounds", [str(t.rounds) for t in ranked]),
        ("seconds", [f"{t.seconds:.1f}" for t in ranked]),
    ]
    rows += [
        (k.name, [f"{t.params[k.name]:.3g}" if k.name in t.params else "-" for t in ranked])
        for k in SEARCH_SPACE
    ]
    for name, cells in rows:
        table.add_row(name, *cells)
    return table


@app.command(rich_help_panel=PANEL)
@exits
def tune(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder with labels.")],
    trials: Annotated[int, typer.Option(help="Number of trials (the first: the defaults).")] = 30,
    timeout: Annotated[
        float | None, typer.Option(help="Stop starting trials after this many seconds.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and of LightGBM.")] = 42,
    out: Annotated[
        Path, typer.Option(help="JSON file for the best parameters (for train --params).")
    ] = Path("best-params.json"),
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "flowrisk-tune",
    top: Annotated[int, typer.Option(help="Trials shown in the table.")] = 5,
    verify: VerifyOption = True,
) -> None:
    """Search LightGBM parameters with Optuna on the snapshots and train/validation split of
    `flowrisk train` (never its test rows), each trial a nested MLflow run; writes the best
    trial's parameters to OUT for `flowrisk train --params`."""
    settings = get_settings()
    registry = Registry.from_settings(settings)
    with (
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar,
        reading_dataset(dataset),
    ):
        task = bar.add_task("tuning", total=None)
        result = tune_dataset(
            dataset,
            registry=registry,
            trials=trials,
            out=out,
            experiment=experiment,
            timeout=timeout,
            seed=seed,
            step=lambda text: bar.update(task, description=text),
            tick=lambda done, total: bar.update(task, completed=done, total=total),
            verify=verify,
        )
    console.print(_tune_table(result, top))
    console.print(
        f"Best: trial {result.best.number}, validation PR-AUC {result.best.value:.4f}; "
        f"parameters -> {result.out} (run {result.run_id} in {settings.tracking_uri}). "
        f"Train with them: flowrisk train {dataset} --params {result.out} --seed {seed}",
        highlight=False,
    )


@models_app.command("list")
@exits
def models_list() -> None:
    """Registered versions with their aliases and held-out PR-AUC."""
    settings = get_settings()
    table = Table(title=f"{MODEL_NAME} in {settings.tracking_uri}", title_justify="left")
    for col in ("version", "aliases", "PR-AUC", "recall at 1%", "created"):
        table.add_column(col)
    for v in Registry.from_settings(settings).list_versions():
        table.add_row(
            v["version"],
            ", ".join(v["aliases"]) or "-",
            f"{v['pr_auc']:.3f}" if v["pr_auc"] is not None else "-",
            f"{v['recall_at_1pct']:.3f}" if v["recall_at_1pct"] is not None else "-",
            v["created"],
        )
    console.print(table)


ResamplesOption = Annotated[
    int, typer.Option(help="Paired bootstrap resamples of the held-out entities.")
]


@models_app.command("promote")
@exits
def models_promote(
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
    force: Annotated[
        bool, typer.Option(help="Promote even if significantly worse than the champion.")
    ] = False,
    resamples: ResamplesOption = RESAMPLES,
) -> None:
    """Point the champion alias at VERSION, unless it is significantly worse than the current
    champion on the same held-out data (VERSION's own): the paired bootstrap interval of its
    PR-AUC or recall at 1 % difference lies below zero (then --force is needed). A difference
    inside the noise is said to be one."""
    done = Registry.from_settings(get_settings()).promote(version, force=force, resamples=resamples)
    was = f" (was {done.previous})" if done.previous else ""
    console.print(f"{MODEL_NAME}@champion -> version {done.version}{was}", highlight=False)
    if done.decision is not None:
        console.print(done.decision.summary(), highlight=False)


def _differences_table(result: Comparison, a: str, b: str) -> Table:
    """B minus A per compared metric, with its paired interval and what it says (``better``,
    ``worse`` or ``inside the noise``)."""
    first = next(iter(result["differences"].values()))
    table = Table(
        title=f"Version {b} minus version {a} (paired bootstrap, "
        f"{first['resamples'] + first['skipped']:,} resamples)",
        title_justify="left",
    )
    # the values are in the metrics table above; no column wraps at 80 characters
    for col in ("metric", "difference", f"{first['level']:.0%} CI", "verdict"):
        table.add_column(col, justify="right" if col == "difference" else "left", no_wrap=True)
    colour = {"better": "green", "worse": "red", "inside the noise": "yellow"}
    for metric, d in result["differences"].items():
        table.add_row(
            HEADLINE.get(metric, metric),
            f"{d['difference']:+.4f}",
            f"[{d['low']:+.4f}, {d['high']:+.4f}]",
            f"[{colour[d['verdict']]}]{d['verdict']}[/]",
        )
    return table


@models_app.command("compare")
@exits
def models_compare(
    a: Annotated[str, typer.Argument(help="A version number or alias (e.g. champion).")],
    b: Annotated[str, typer.Argument(help="Another version number or alias.")],
    heldout_of: Annotated[
        str | None,
        typer.Option(help="Whose held-out data to score both on (default: B's)."),
    ] = None,
    resamples: ResamplesOption = RESAMPLES,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score two versions on the same held-out data: their metrics side by side (with the
    recall a perfect ranking would reach at each budget), and B minus A on PR-AUC and recall
    at each budget with a paired bootstrap interval, said to be inside the noise when the
    interval holds zero."""
    registry = Registry.from_settings(get_settings())
    result = registry.compare(a, b, heldout_of=heldout_of, resamples=resamples)
    if as_json:
        console.print_json(json.dumps(result))
        return
    first, second = result["versions"]
    print_metrics(
        {f"version {v}": m for v, m in result["metrics"].items()},
        f"Held-out data of version {result['heldout_of']}: {result['rows']:,} entities, "
        f"{result['positives']:,} positive",
    )
    console.print(_differences_table(result, first, second))
    if result["warning"]:
        err_console.print(f"[yellow]warning:[/] {result['warning']}", highlight=False)


@app.command(rich_help_panel=PANEL)
@exits
def benchmark(
    datasets: Annotated[
        list[Path],
        typer.Argument(
            help="One or more labelled dataset folders.", metavar="DATASET", show_default=False
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Write the Markdown table to this file (atomically).")
    ] = None,
    family_ablation: Annotated[
        bool,
        typer.Option(
            "--family-ablation",
            help="Also report, per dataset, flowrisk without each feature family and each "
            "family alone.",
        ),
    ] = False,
    transaction_level: Annotated[
        bool,
        typer.Option(
            "--transaction-level",
            help="Also run the AMLworld protocol per transaction (60/20/20 in time) on datasets "
            "with transaction labels.",
        ),
    ] = False,
    resamples: ResamplesOption = RESAMPLES,
    experiment: Annotated[
        str, typer.Option(help="MLflow experiment of the benchmark's runs.")
    ] = "flowrisk-benchmark",
    seed: Annotated[int, typer.Option(help="Seed of the split, LightGBM and the bootstrap.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verify: VerifyOption = True,
) -> None:
    """flowrisk against LightGBM on raw per-entity aggregates and on Snap ML graph features,
    and flowrisk plus the graph features, each dataset on its own entity-and-time split.

    Prints PR-AUC, ROC-AUC, minority F1 and recall at 1 % of each model, and flowrisk's
    difference to the best baseline with a paired bootstrap 95 % interval; logs a parent MLflow
    run with one nested run per dataset. Needs the benchmark extra (snapml)."""
    registry = Registry.from_settings(get_settings())
    with progress_ticks() as bars:
        done = run_benchmark(
            datasets,
            seed=seed,
            ticks=bars.tick,
            resamples=resamples,
            ablation=family_ablation,
            transactions=transaction_level,
            verify=verify,
            out=out,
            registry=registry,
            experiment=experiment,
        )
    if as_json:
        console.print_json(json.dumps(done.results, default=str))
        return
    console.print(Markdown(done.markdown))
    if out is not None:
        console.print(f"Markdown written to {out}", highlight=False)
    console.print(f"MLflow run {done.run_id} in {registry.tracking_uri}", highlight=False)
