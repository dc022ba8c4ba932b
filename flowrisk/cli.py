"""The ``flowrisk`` command: thin wrappers that parse arguments, call a stage and map errors to
exit codes (0 ok, 1 failure, 2 bad arguments or unreadable input)."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from flowrisk.config import get_settings
from flowrisk.errors import DatasetError, EntityNotFound, FlowriskError, InvalidParameter
from flowrisk.schema import TYPOLOGIES

app = typer.Typer(
    name="flowrisk",
    help="Explainable money-laundering risk scoring of people and companies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _exits(func: F) -> F:
    """Turn flowrisk errors into a one-line message and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InvalidParameter, DatasetError, EntityNotFound) as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2) from None
        except FlowriskError as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _progress(transient: bool) -> Progress:
    """A progress bar on stderr: description, bar, done/total, elapsed time."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
    )


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


def _world_params(
    entities: int,
    months: int,
    seed: int,
    typologies: str | None,
    prevalence: list[str] | None,
    intensity: list[str] | None,
    camouflage: bool,
) -> Any:
    from flowrisk.synth import WorldParams

    base = WorldParams(entities=entities, months=months, seed=seed, camouflage=camouflage)
    only = [t.strip() for t in typologies.split(",") if t.strip()] if typologies else None
    return base.with_overrides(
        only=only,
        prevalence=_pairs(prevalence, "--prevalence"),
        intensity=_pairs(intensity, "--intensity"),
    )


def _generate(params: Any, out: Path) -> dict[str, Any]:
    from flowrisk.synth import generate_world
    from flowrisk.synth.generate import check_output

    check_output(out)
    with _progress(transient=False) as bar:
        task = bar.add_task("generating entities", total=params.entities)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done)

        return generate_world(params, out, progress=tick)


def _print_summary(manifest: dict[str, Any], out: Path, seconds: float | None = None) -> None:
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
    typ.add_column("entities", justify="right")
    typ.add_column("prevalence", justify="right")
    typ.add_column("requested", justify="right")
    params = manifest["parameters"]["typologies"]
    for name, count in labels["per_typology"].items():
        typ.add_row(name, f"{count:,}", f"{count / n:.2%}", f"{params[name]['prevalence']:.2%}")
    console.print(typ)
    period = manifest["period"]
    extra = f" in {seconds:.1f} s" if seconds is not None else ""
    console.print(
        f"Period {period['start']} to {period['end']}, seed {manifest['seed']}, "
        f"generator {manifest['generator_version']}{extra}."
    )


@app.command()
@_exits
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
    json_out: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Generate a synthetic world (every table of the data model) with injected typologies."""
    params = _world_params(entities, months, seed, typologies, prevalence, intensity, camouflage)
    started = time.perf_counter()
    manifest = _generate(params, out)
    if json_out:
        console.print_json(json.dumps(manifest))
    else:
        _print_summary(manifest, out, time.perf_counter() - started)


@app.command()
@_exits
def run(
    entities: Annotated[int, typer.Option(help="Size of the generated world.")] = 20_000,
    seed: Annotated[int | None, typer.Option(help="Seed (default: FLOWRISK_SEED or 42).")] = None,
) -> None:
    """The main job on embedded defaults: generate a world under FLOWRISK_HOME, validate it
    (accepted and quarantined rows under data/validated), build its entity profiles, train a
    model against the baselines and register it in MLflow (champion if it is the first),
    score every entity with the champion, print the top alerts with their reasons and write
    a case report on the riskiest."""
    settings = get_settings()
    out = settings.data_dir / "world"
    params = _world_params(
        entities, 12, settings.seed if seed is None else seed, None, None, None, True
    )
    console.rule("1. Generate a synthetic world")
    started = time.perf_counter()
    manifest = _generate(params, out)
    _print_summary(manifest, out, time.perf_counter() - started)
    console.rule("2. Validate it against the data contracts (Great Expectations)")
    validated = settings.data_dir / "validated"
    started = time.perf_counter()
    report = _validate(out, validated, "gx")
    _print_validation(report)
    console.print(
        f"{report.rows_quarantined:,} rows quarantined in "
        f"{time.perf_counter() - started:.1f} s; accepted dataset in "
        f"{validated / 'accepted'}.",
        highlight=False,
    )
    if not report.clean:
        raise typer.Exit(1)
    console.rule("3. Build point-in-time entity profiles")
    _profile_world(validated / "accepted", manifest, settings.data_dir / "profiles.parquet")
    console.rule("4. Train, evaluate against the baselines, register in MLflow")
    result = _train(validated / "accepted", "flowrisk", params.seed, 0.01)
    from flowrisk.models.registry import MODEL_NAME, list_versions, promote

    if not any("champion" in v["aliases"] for v in list_versions(settings.tracking_uri)):
        promote(settings.tracking_uri, result.version)
        console.print(
            f"{MODEL_NAME}@champion -> version {result.version} (first model)", highlight=False
        )
    console.rule("5. Score every entity with the champion, explain the alerts")
    accepted = validated / "accepted"
    scored = _score(accepted, None, settings.home / "scores", validate=False)  # step 2 did
    _print_top_alerts(Path(scored.out) / "explanations.parquet", 5)
    console.rule("6. Case report on the riskiest entity")
    import polars as pl

    explained = pl.read_parquet(Path(scored.out) / "explanations.parquet")
    if explained.is_empty():
        console.print("No entity reached the high band: no case report.")
        return
    top = explained.sort(["raw_log_odds", "entity_id"], descending=[True, False])["entity_id"][0]
    _report(accepted, top, settings.home / "reports" / f"{top}.html", None, None)


def _print_top_alerts(explanations: Path, count: int) -> None:
    """The ``count`` highest-scored explained entities with their reasons."""
    import polars as pl

    from flowrisk.models.explain import reason_lines

    frame = pl.read_parquet(explanations).sort(  # raw: calibrated scores tie at the top
        ["raw_log_odds", "entity_id"], descending=[True, False]
    )
    console.print(f"Top {min(count, frame.height)} alerts of {frame.height:,}:", highlight=False)
    for row in frame.head(count).iter_rows(named=True):
        for line in reason_lines(row, evidence_shown=3):
            console.print(escape(line), highlight=False, soft_wrap=True)


@app.command()
@_exits
def summary(dataset: Annotated[Path, typer.Argument(help="Dataset folder.")]) -> None:
    """Summarise a generated dataset from its manifest."""
    from flowrisk.io import read_manifest

    _print_summary(read_manifest(dataset), dataset)


def _profile_world(dataset: Path, manifest: dict[str, Any], out: Path) -> None:
    """Fit baselines and build profiles the day after the period; show each family's signal."""
    from datetime import UTC, datetime, timedelta

    from flowrisk.features import build_profiles, feature_names, fit_baselines
    from flowrisk.features.signal import feature_signal
    from flowrisk.io import read_dataset

    as_of = datetime.fromisoformat(manifest["period"]["end"]).replace(tzinfo=UTC) + timedelta(
        days=1
    )
    started = time.perf_counter()
    frames = read_dataset(dataset)
    baselines = fit_baselines(frames, as_of)
    profiles = build_profiles(frames, as_of, baselines).collect(engine="streaming")
    out.parent.mkdir(parents=True, exist_ok=True)
    profiles.write_parquet(out)
    out.with_suffix(".baselines.json").write_text(baselines.to_json(), encoding="utf-8")
    console.print(
        f"{profiles.height:,} profiles x {len(feature_names())} features as of "
        f"{as_of.date()} in {time.perf_counter() - started:.1f} s -> {out}",
        highlight=False,
    )
    labels = read_dataset(dataset, tables=["entities", "accounts", "transactions", "labels"])[
        "labels"
    ].collect()
    best = (
        feature_signal(profiles, labels)
        .sort("auc", descending=True, nulls_last=True)
        .group_by("typology", maintain_order=True)
        .first()
    )
    table = Table(
        title="Strongest single feature per typology (ROC-AUC, guilty vs honest)",
        title_justify="left",
    )
    for col in ("typology", "feature", "ROC-AUC"):
        table.add_column(col, justify="right" if col == "ROC-AUC" else "left")
    for row in best.sort("typology").iter_rows(named=True):
        table.add_row(row["typology"], row["feature"], f"{row['auc']:.3f}")
    console.print(table)


def _print_validation(report: Any) -> None:
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


def _validate(dataset: Path, quarantine: Path | None, engine: str) -> Any:
    from flowrisk.data_contracts import validate_dataset

    with _progress(transient=True) as bar:
        tasks: dict[str, Any] = {}

        def tick(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(f"validating {table}", total=total)
            bar.update(tasks[table], completed=done)

        return validate_dataset(
            dataset,
            quarantine=quarantine,
            engine=engine,  # type: ignore[arg-type]
            progress=tick,
        )


@app.command()
@_exits
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
        str,
        typer.Option(
            help="gx runs the Great Expectations suites; polars runs the same rules faster.",
        ),
    ] = "gx",
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every table against its data contract; exit 0 if clean, 1 if rows were rejected,
    2 if the dataset cannot be read."""
    result = _validate(dataset, quarantine, engine)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(result.to_json() + "\n", encoding="utf-8")
    if json_out:
        console.print_json(result.to_json())
    else:
        _print_validation(result)
        if quarantine is not None:
            console.print(
                f"Accepted rows in {quarantine / 'accepted'}, rejected rows with their "
                f"rules in {quarantine / 'quarantine'}.",
                highlight=False,
            )
    if not result.clean:
        raise typer.Exit(1)


@app.command()
def contracts(
    markdown: Annotated[bool, typer.Option(help="Print Markdown (as in the README).")] = False,
) -> None:
    """Show the data contract of every table, generated from the suites."""
    from flowrisk.data_contracts.docs import contract_markdown

    _show_markdown(contract_markdown(), markdown)


@app.command("catalog")
def catalog_command(
    markdown: Annotated[bool, typer.Option(help="Print Markdown (as in the README).")] = False,
) -> None:
    """Show the feature catalog of the current feature set."""
    from flowrisk.features.catalog import FEATURE_SET, FEATURE_SET_VERSION, catalog_markdown

    _show_markdown(catalog_markdown(), markdown, f"Feature set {FEATURE_SET} {FEATURE_SET_VERSION}")


def _show_markdown(text: str, raw: bool, title: str | None = None) -> None:
    """Print generated Markdown as it is (for files) or rendered (for people)."""
    if raw:
        typer.echo(text, nl=False)
        return
    from rich.markdown import Markdown

    if title:
        console.print(title)
    console.print(Markdown(text))


def _parse_as_of(value: str) -> Any:
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameter("--as-of", f"{value!r} is not an ISO date or datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command()
@_exits
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
            help="Entity partitions built one after another (default: one per 10 M transactions)."
        ),
    ] = None,
) -> None:
    """Build the entity profiles (one row per entity, every catalog feature) at a date."""
    import polars as pl

    from flowrisk.features import (
        Baselines,
        feature_names,
        fit_baselines,
        iter_profile_partitions,
        partitions_for,
    )
    from flowrisk.io import read_dataset

    when = _parse_as_of(as_of)
    frames = read_dataset(dataset)
    if partitions is not None and partitions < 1:
        raise InvalidParameter("--partitions", "must be at least 1")
    parts = partitions or partitions_for(frames)
    started = time.perf_counter()
    fitted = (
        Baselines.from_json(baselines.read_text(encoding="utf-8"))
        if baselines
        else fit_baselines(frames, when, parts)
    )
    with _progress(transient=False) as bar:
        task = bar.add_task("building profiles (entity partitions)", total=parts)
        chunks = list(
            iter_profile_partitions(
                frames, when, fitted, parts, lambda done, _: bar.update(task, completed=done)
            )
        )
    profiles = pl.concat(chunks).sort("entity_id")
    out.parent.mkdir(parents=True, exist_ok=True)
    profiles.write_parquet(out)
    out.with_suffix(".baselines.json").write_text(fitted.to_json(), encoding="utf-8")
    console.print(
        f"{profiles.height:,} profiles x {len(feature_names())} features as of "
        f"{when.isoformat()} in {time.perf_counter() - started:.1f} s "
        f"({parts} partition{'s' if parts > 1 else ''}) -> {out}",
        highlight=False,
    )


def _print_metrics(metrics: dict[str, dict[str, Any]], title: str) -> None:
    """Headline metrics, one row per model, then recall per typology, one column per model."""
    from flowrisk.models.card import typology_recall
    from flowrisk.models.evaluate import HEADLINE

    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for label in HEADLINE.values():
        table.add_column(label, justify="right")
    for name, values in metrics.items():
        table.add_row(name, *(f"{values[c]:.3f}" for c in HEADLINE))
    console.print(table)
    first = next(iter(metrics.values()))["recall_per_typology"]
    if first:
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


def _read_params(path: Path | None) -> dict[str, Any]:
    """LightGBM overrides from a JSON or TOML file (a flat table of name = value)."""
    import tomllib

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


def _train(
    dataset: Path,
    experiment: str,
    seed: int,
    alert_budget: float,
    params: dict[str, Any] | None = None,
) -> Any:
    from flowrisk.models.registry import MODEL_NAME
    from flowrisk.models.train import check_params
    from flowrisk.models.training_run import train_and_register

    params = check_params(params or {})  # before the slow work
    settings = get_settings()
    with Progress(
        "[progress.description]{task.description}",
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("training", total=None)
        result = train_and_register(
            dataset,
            tracking_uri=settings.tracking_uri,
            artifact_root=settings.home / "mlartifacts" if settings.mlflow_uri is None else None,
            experiment=experiment,
            seed=seed,
            alert_budget=alert_budget,
            params=params,
            step=lambda text: bar.update(task, description=text),
        )
    _print_metrics(
        result.metrics,
        f"Held-out metrics (test snapshot {result.dates[-1]}, entities never trained on)",
    )
    console.print(
        f"Registered {MODEL_NAME} version {result.version} (run {result.run_id}) in "
        f"{settings.tracking_uri}, with its model card, charts (plots/) and held-out data.",
        highlight=False,
    )
    return result


@app.command()
@_exits
def train(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder with labels.")],
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "flowrisk",
    seed: Annotated[int, typer.Option(help="Seed of the split and of LightGBM.")] = 42,
    alert_budget: Annotated[
        float,
        typer.Option(help="Share of entities analysts can open; sets the high and critical bands."),
    ] = 0.01,
    params: Annotated[
        Path | None,
        typer.Option(help="JSON or TOML file of LightGBM parameters overriding the defaults."),
    ] = None,
) -> None:
    """Train a risk model on point-in-time snapshots, evaluate it against the rule engine and
    raw-sums LightGBM on held-out entities and time, log it to MLflow and register it."""
    _train(dataset, experiment, seed, alert_budget, _read_params(params))


models_app = typer.Typer(
    help="The model registry: list, compare and promote versions.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
@_exits
def models_list() -> None:
    """Registered versions with their aliases and held-out PR-AUC."""
    from flowrisk.models.registry import MODEL_NAME, list_versions

    table = Table(title=f"{MODEL_NAME} in {get_settings().tracking_uri}", title_justify="left")
    for col in ("version", "aliases", "PR-AUC", "recall at 1%", "created"):
        table.add_column(col)
    for v in list_versions(get_settings().tracking_uri):
        table.add_row(
            v["version"],
            ", ".join(v["aliases"]) or "-",
            f"{v['pr_auc']:.3f}" if v["pr_auc"] is not None else "-",
            f"{v['recall_at_1pct']:.3f}" if v["recall_at_1pct"] is not None else "-",
            v["created"],
        )
    console.print(table)


@models_app.command("promote")
@_exits
def models_promote(
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
    force: Annotated[bool, typer.Option(help="Promote even if worse than the champion.")] = False,
) -> None:
    """Point the champion alias at VERSION, unless it is worse than the current champion on
    the same held-out data (VERSION's own; then --force is needed)."""
    from flowrisk.models.registry import MODEL_NAME, promote

    previous = promote(get_settings().tracking_uri, version, force=force)
    console.print(
        f"{MODEL_NAME}@champion -> version {version}" + (f" (was {previous})" if previous else ""),
        highlight=False,
    )


@models_app.command("compare")
@_exits
def models_compare(
    a: Annotated[str, typer.Argument(help="A version number or alias (e.g. champion).")],
    b: Annotated[str, typer.Argument(help="Another version number or alias.")],
    heldout_of: Annotated[
        str | None,
        typer.Option(help="Whose held-out data to score both on (default: B's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score two versions on the same held-out data and show their metrics side by side."""
    from flowrisk.models.registry import compare

    result = compare(get_settings().tracking_uri, a, b, heldout_of=heldout_of)
    if as_json:
        console.print_json(json.dumps(result))
        return
    _print_metrics(
        {f"version {v}": m for v, m in result["metrics"].items()},
        f"Held-out data of version {result['heldout_of']}: {result['rows']:,} entities, "
        f"{result['positives']:,} positive",
    )
    if result["warning"]:
        err_console.print(f"[yellow]warning:[/] {result['warning']}", highlight=False)


def _bundle(model: str | None) -> Any:
    """The registered model to score with (default: the champion) and its baselines."""
    from flowrisk.models.registry import connect, load_bundle, model_uri

    connect(get_settings().tracking_uri)
    return load_bundle(model or model_uri())


def _scoring_date(dataset: Path, as_of: str | None) -> Any:
    """``--as-of``, or the first month start after the dataset's last transaction."""
    from flowrisk.io import read_dataset
    from flowrisk.models.training_run import snapshot_dates

    if as_of:
        return _parse_as_of(as_of)
    return snapshot_dates(read_dataset(dataset, tables=["transactions"]), 1)[0]


MODEL_HELP = "Registry URI of the model, e.g. models:/flowrisk/3 (default: the champion)."
AS_OF_HELP = "Score as of this date (default: the first month start after the last transaction)."


@app.command()
@_exits
def score(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: <FLOWRISK_HOME>/scores).")
    ] = None,
    explain: Annotated[
        str, typer.Option(help="Which entities to explain: alerts (high, critical), all, none.")
    ] = "alerts",
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
    partitions: Annotated[
        int | None, typer.Option(help="Entity partitions (default: ~10M transactions each).")
    ] = None,
    engine: Annotated[str, typer.Option(help="local, or dask (with --scheduler).")] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://127.0.0.1:8786.")
    ] = None,
    validate: Annotated[
        bool, typer.Option(help="Check the data contracts first (skip for validated data).")
    ] = True,
) -> None:
    """Validate DATASET against the data contracts, score every entity with a progress bar,
    explain the alerts, and write scores.parquet, explanations.parquet and run.json."""
    if engine not in ("local", "dask"):
        raise InvalidParameter("--engine", f"must be local or dask, got {engine!r}")
    if explain not in ("alerts", "all", "none"):
        raise InvalidParameter("--explain", f"must be alerts, all or none, got {explain!r}")
    _score(dataset, model, out, explain, as_of, partitions, engine, scheduler, validate)


def _score(
    dataset: Path,
    model: str | None,
    out: Path | None,
    explain: str = "alerts",
    as_of: str | None = None,
    partitions: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    validate: bool = True,
) -> Any:
    """Validate (unless ``validate`` is off), batch-score with a progress bar and print the
    band counts; returns the run. Rows that break a contract are quarantined under
    ``<out>/validated`` and the accepted rows are scored."""
    from flowrisk.models.batch import score_dataset

    bundle = _bundle(model)
    target = out or get_settings().home / "scores"
    if validate:
        report = _validate(dataset, None, "polars")
        if not report.clean:
            report = _validate(dataset, target / "validated", "polars")
            _print_validation(report)
            dataset = target / "validated" / "accepted"
            err_console.print(
                f"{report.rows_quarantined:,} rows quarantined in {target / 'validated'}; "
                "scoring the accepted rows",
                highlight=False,
            )
    when = _scoring_date(dataset, as_of)
    with _progress(transient=False) as bar:
        task = bar.add_task("scoring partitions", total=None)
        run = score_dataset(
            dataset,
            bundle.model,
            bundle.baselines,
            target,
            as_of=when,
            model_uri=bundle.uri,
            model_version=bundle.version,
            explain_mode=explain,  # type: ignore[arg-type]
            partitions=partitions,
            engine=engine,  # type: ignore[arg-type]
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    bands = ", ".join(f"{n:,} {band}" for band, n in run.bands.items())
    console.print(
        f"Scored {run.entities:,} entities as of {when.date()} with {bundle.uri} (version "
        f"{bundle.version}) in {run.seconds:.1f} s: {bands}; {run.explained:,} explained -> "
        f"{target}",
        highlight=False,
    )
    return run


def _explained(dataset: Path, entity_id: str, model: str | None, as_of: str | None) -> Any:
    """One entity's explanation row, its frames, date and bundle (explain and report)."""
    import polars as pl

    from flowrisk.features import build_profiles
    from flowrisk.io import read_dataset
    from flowrisk.models.batch import explain_entities

    bundle = _bundle(model)
    when = _scoring_date(dataset, as_of)
    frames = read_dataset(dataset)
    known = frames["entities"].filter(pl.col("entity_id") == entity_id).collect()
    if known.is_empty():
        raise EntityNotFound(f"{entity_id}: no such entity in {dataset}")
    profile = build_profiles(frames, when, bundle.baselines, entities=[entity_id]).collect()
    row = explain_entities(frames, profile, when, bundle.model, bundle.baselines).row(0, named=True)
    return row, frames, when, bundle


@app.command("explain")
@_exits
def explain_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    entity_id: Annotated[str, typer.Argument(help="The entity to explain.")],
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Why ENTITY_ID scores what it scores: reasons with values, baselines and evidence."""
    from flowrisk.models.explain import reason_lines

    row, _, when, bundle = _explained(dataset, entity_id, model, as_of)
    if as_json:
        console.print_json(json.dumps({**row, "as_of": when.isoformat()}, default=str))
        return
    console.print(
        f"As of {when.date()}, model {bundle.uri} (version {bundle.version})", highlight=False
    )
    for line in reason_lines(row):
        console.print(escape(line), highlight=False, soft_wrap=True)


@app.command()
@_exits
def report(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    entity_id: Annotated[str, typer.Argument(help="The entity to report on.")],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
) -> None:
    """Write a self-contained HTML case report on ENTITY_ID: score, band, reasons with their
    evidence, contribution chart, monthly flows, counterparties and owners."""
    _report(dataset, entity_id, out, model, as_of)


def _report(dataset: Path, entity_id: str, out: Path, model: str | None, as_of: str | None) -> None:
    from flowrisk.models.report import case_report, entity_facts

    row, frames, when, bundle = _explained(dataset, entity_id, model, as_of)
    page = case_report(
        row,
        entity_facts(frames, entity_id, when),
        as_of=when,
        model=f"{bundle.uri} (version {bundle.version})",
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InvalidParameter("--out", f"cannot write {out}: {exc.strerror}") from None
    console.print(
        f"{entity_id}: score {row['score']:.1f} ({row['band']}) -> {out}", highlight=False
    )


@app.command()
@_exits
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    dataset: Annotated[
        Path | None, typer.Option(help="Dataset for GET /v1/entities/{id}/score.")
    ] = None,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
) -> None:
    """Serve the scoring API with uvicorn (keys: `flowrisk keys create`)."""
    import uvicorn

    from flowrisk.api import app_from_settings

    api = app_from_settings(dataset, model)
    console.print(f"flowrisk API on http://{host}:{port} (docs at /docs)", highlight=False)
    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)


keys_app = typer.Typer(help="API keys of the scoring service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
@_exits
def keys_create(
    role: Annotated[str, typer.Option(help="analyst (scores) or admin (also reloads).")],
    label: Annotated[str, typer.Option(help="Whose key it is, for the record.")] = "",
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from flowrisk.api.store import Store

    key_id, key = Store(get_settings().audit_url).create_key(role, label)
    err_console.print(f"key {key_id} ({role}); store it now, it is not shown again:")
    console.print(key, highlight=False)


@keys_app.command("revoke")
@_exits
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke an API key: later requests with it get 401."""
    from flowrisk.api.store import Store

    if not Store(get_settings().audit_url).revoke_key(key_id):
        raise InvalidParameter("key_id", f"no active key {key_id!r}")
    console.print(f"key {key_id} revoked", highlight=False)


audit_app = typer.Typer(help="The audit trail of the scoring service.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("export")
@_exits
def audit_export(
    out: Annotated[Path, typer.Option(help="File to write.")] = Path("audit.csv"),
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    since: Annotated[str | None, typer.Option(help="Only rows from this date or time.")] = None,
) -> None:
    """Write the audit trail (who looked up whom, when, why, with which result) to a file."""
    from flowrisk.api.store import Store

    if fmt not in ("csv", "jsonl"):
        raise InvalidParameter("--format", f"must be csv or jsonl, got {fmt!r}")
    store = Store(get_settings().audit_url)
    try:
        count = store.export(out, fmt, _parse_as_of(since) if since else None)  # type: ignore[arg-type]
    except OSError as exc:
        raise InvalidParameter("--out", f"cannot write {out}: {exc.strerror}") from None
    console.print(f"{count:,} audit rows from {store.safe_url} -> {out}", highlight=False)


import_app = typer.Typer(
    help="Import public AML research formats as datasets (through the data contracts).",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")


def _imported(tables: dict[str, Any], out: Path, source: dict[str, Any]) -> None:
    from flowrisk.importers import write_imported

    report = write_imported(tables, out, source)
    _print_validation(report)
    console.print(
        f"{report.rows_quarantined:,} rows quarantined"
        + (f" (with their rules in {out / 'quarantine'})" if report.rows_quarantined else "")
        + f"; dataset in {out}",
        highlight=False,
    )


@import_app.command("amlsim")
@_exits
def import_amlsim(
    source: Annotated[Path, typer.Argument(help="AMLSim output folder or .tgz archive.")],
    out: Annotated[Path, typer.Option(help="Dataset folder to write.")],
    start: Annotated[str, typer.Option(help="Date of simulation step 0.")] = "2025-01-01",
    country: Annotated[str, typer.Option(help="Placeholder country (AMLSim has none).")] = "FR",
) -> None:
    """Import IBM AMLSim nodes.csv and transactions.csv (accounts as entities, transfers as
    wires, steps as days, isFraud as labels)."""
    from datetime import date

    from flowrisk.importers.amlsim import amlsim_tables

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise InvalidParameter("--start", f"{start!r} is not an ISO date") from None
    tables = amlsim_tables(source, start=first, country=country)
    _imported(tables, out, {"format": "amlsim", "path": source.name, "start": start})


@import_app.command("amlworld")
@_exits
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


@app.command()
@_exits
def benchmark(
    dataset: Annotated[Path, typer.Argument(help="Labelled dataset folder.")],
    seed: Annotated[int, typer.Option(help="Seed of the split and of LightGBM.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """flowrisk against LightGBM on Snap ML graph features, same temporal and entity split."""
    import polars as pl

    from flowrisk.io import read_dataset
    from flowrisk.models.external_bench import compare_on_dataset, compare_transactions

    frames = {k: v.collect().lazy() for k, v in read_dataset(dataset).items()}
    tables = read_dataset(dataset, tables=["entities", "accounts", "transactions", "labels"])
    if "labels" not in tables:
        raise InvalidParameter(
            "labels", f"{dataset} has no labels.parquet: the benchmark needs them"
        )
    labels: pl.DataFrame = tables["labels"].collect()
    txn_labels = read_dataset(
        dataset, tables=["entities", "accounts", "transactions", "transaction_labels"]
    ).get("transaction_labels")
    with Progress(
        "[progress.description]{task.description}",
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("benchmark", total=None)
        result = compare_on_dataset(
            frames, labels, seed=seed, step=lambda text: bar.update(task, description=text)
        )
        tx_labels = txn_labels.collect() if txn_labels is not None else None
        if tx_labels is not None and tx_labels.height:
            result["transactions"] = compare_transactions(
                frames,
                tx_labels,
                seed=seed,
                step=lambda text: bar.update(task, description=text),
            )
    if as_json:
        console.print_json(json.dumps(result, default=str))
        return
    table = Table(
        title=f"Held-out entities of {dataset.name} at {result['dates'][-1][:10]} "
        f"({result['split']['test']['positives']} positive of "
        f"{result['split']['test']['rows']:,})",
        title_justify="left",
    )
    table.add_column("model", no_wrap=True)
    for col in ("PR-AUC", "ROC-AUC", "minority F1", "recall @1%", "precision @1%"):
        table.add_column(col, justify="right")
    for name, m in result["metrics"].items():
        table.add_row(
            name,
            *(
                f"{m[k]:.3f}"
                for k in ("pr_auc", "roc_auc", "f1_minority", "recall_at_1pct", "precision_at_1pct")
            ),
        )
    console.print(table)
    if "transactions" in result:
        per = result["transactions"]
        first = next(iter(per["metrics"].values()))
        txn = Table(
            title=f"Transaction level (60/20/20 in time; test from "
            f"{per['split']['test_start'][:10]}: {first['test_positives']} laundering "
            f"of {first['test_rows']:,})",
            title_justify="left",
        )
        for col in ("model", "PR-AUC", "minority F1"):
            txn.add_column(col, justify="left" if col == "model" else "right")
        for name, m in per["metrics"].items():
            txn.add_row(name, f"{m['pr_auc']:.3f}", f"{m['f1_minority']:.3f}")
        console.print(txn)


def main() -> None:  # pragma: no cover - console entry point
    app()
