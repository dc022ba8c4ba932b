"""The main job on the embedded defaults, as one sequence of stages: generate a world,
validate it, profile it, train and register a model, score everyone, report on the riskiest.

:func:`main_job` yields one event per finished stage, so a face can show each result as soon as
it exists; the policies live here (a world that breaks its own contracts stops the job, the
first registered model becomes champion)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.audit import Store
from flowrisk.config import Settings
from flowrisk.data_contracts import ValidationReport, validate_dataset
from flowrisk.errors import ContractViolation
from flowrisk.io import read_dataset
from flowrisk.models.dataset import scoring_date
from flowrisk.models.registry import Registry
from flowrisk.models.training_run import TrainingResult, train_and_register
from flowrisk.pipeline.entity import ExplainedEntity, Lookup, write_case_report
from flowrisk.pipeline.profiles import ProfileFile, strongest_features, write_profiles
from flowrisk.pipeline.progress import Ticks, no_ticks, per_table
from flowrisk.pipeline.scoring import ScoredDataset, score_validated, top_alerts
from flowrisk.synth import WorldParams, generate_world
from flowrisk.synth.generate import check_output

__all__ = [
    "Event",
    "Generated",
    "Profiled",
    "Reported",
    "Scored",
    "Trained",
    "Validated",
    "generate",
    "main_job",
]

RUN_PURPOSE = "flowrisk run: case report on the riskiest alert of the generated world"

TOP_ALERTS = 5


@dataclass(frozen=True)
class Generated:
    manifest: dict[str, Any]
    out: Path
    seconds: float


@dataclass(frozen=True)
class Validated:
    report: ValidationReport
    accepted: Path
    seconds: float


@dataclass(frozen=True)
class Profiled:
    written: ProfileFile
    strongest: pl.DataFrame  # best single feature per typology


@dataclass(frozen=True)
class Trained:
    result: TrainingResult
    tracking_uri: str
    promoted: bool  # became champion as the first model


@dataclass(frozen=True)
class Scored:
    scored: ScoredDataset
    top: pl.DataFrame  # the riskiest explained entities


@dataclass(frozen=True)
class Reported:
    explained: ExplainedEntity | None  # None: no entity reached an alert band
    path: Path | None


Event = Generated | Validated | Profiled | Trained | Scored | Reported


def generate(params: WorldParams, out: Path, ticks: Ticks = no_ticks) -> Generated:
    """Generate a world into ``out`` (refused early when ``out`` cannot be written)."""
    check_output(out)
    tick = ticks("generating entities")
    started = time.perf_counter()
    manifest = generate_world(params, out, progress=tick)
    return Generated(manifest, out, time.perf_counter() - started)


def _validated(world: Path, folder: Path, ticks: Ticks) -> Validated:
    started = time.perf_counter()
    report = validate_dataset(world, quarantine=folder, engine="gx", progress=per_table(ticks))
    return Validated(report, folder / "accepted", time.perf_counter() - started)


def _trained(registry: Registry, dataset: Path, seed: int, ticks: Ticks) -> Trained:
    steps = ticks("training")
    done: list[str] = []

    def step(text: str) -> None:  # one tick per step of the run: the bar shows it is alive
        done.append(text)
        steps(len(done), None)

    step("starting")
    result = train_and_register(
        dataset, registry=registry, experiment="flowrisk", seed=seed, alert_budget=0.01, step=step
    )
    promoted = not registry.has_champion()
    if promoted:
        registry.promote(result.version)
    return Trained(result, registry.tracking_uri, promoted)


def _riskiest(settings: Settings, dataset: Path, scored: Scored) -> Reported:
    """The case report on the riskiest explained entity, if any reached an alert band."""
    if scored.top.is_empty():
        return Reported(None, None)
    top = str(scored.top["entity_id"][0])
    out = settings.home / "reports" / f"{top}.html"
    bundle = scored.scored.bundle
    store = Store(settings.audit_url, timeout=settings.audit_timeout_seconds)
    lookup = Lookup(store, RUN_PURPOSE, "flowrisk run")
    return Reported(write_case_report(dataset, top, bundle, out, lookup, scored.scored.as_of), out)


def main_job(
    settings: Settings,
    *,
    entities: int = 20_000,
    seed: int | None = None,
    ticks: Ticks = no_ticks,
) -> Iterator[Event]:
    """Run the main job under ``settings.home``, yielding each stage's result as it ends."""
    chosen = settings.seed if seed is None else seed
    params = WorldParams(entities=entities, months=12, seed=chosen, camouflage=True)
    generated = generate(params, settings.data_dir / "world", ticks)
    yield generated
    validated = _validated(generated.out, settings.data_dir / "validated", ticks)
    yield validated
    if not validated.report.clean:
        raise ContractViolation(
            f"{validated.report.rows_quarantined:,} rows of the generated world break the "
            "data contracts; see the table above",
            rules=sorted({r for t in validated.report.tables.values() for r in t.rules}),
        )
    accepted = validated.accepted
    as_of = scoring_date(read_dataset(accepted, tables=["transactions"]))
    written, profiles = write_profiles(
        accepted, as_of, settings.data_dir / "profiles.parquet", tick=ticks("building profiles")
    )
    yield Profiled(written, strongest_features(profiles, accepted))
    registry = Registry.from_settings(settings)
    yield _trained(registry, accepted, params.seed, ticks)
    scored = score_validated(
        accepted,
        registry.load_bundle(),
        settings.home / "scores",
        as_of=as_of,
        validate=False,  # validated above
        tick=ticks("scoring partitions"),
    )
    stage = Scored(scored, top_alerts(scored.out / "explanations.parquet", TOP_ALERTS))
    yield stage
    yield _riskiest(settings, accepted, stage)
