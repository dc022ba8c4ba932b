"""Batch scoring of a dataset as an operator runs it: contracts first, broken rows quarantined,
the accepted rows scored and the alerts explained."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from flowrisk.data_contracts import ValidationReport, validate_dataset
from flowrisk.io import check_replaceable, read_dataset, replace_folder_atomically
from flowrisk.models.batch import RUN_RECORD, Explain, ScoreEngine, ScoreRun, score_dataset
from flowrisk.models.dataset import scoring_date
from flowrisk.models.registry import Bundle
from flowrisk.pipeline.progress import TableTick, Tick
from flowrisk.pipeline.readable import reading_dataset

__all__ = ["ScoredDataset", "score_validated", "top_alerts"]


@dataclass(frozen=True)
class ScoredDataset:
    """A batch run and, when rows broke a contract, the validation that quarantined them."""

    run: ScoreRun
    as_of: datetime
    bundle: Bundle
    out: Path
    quarantined: ValidationReport | None  # None: validation was skipped or the data was clean


def score_validated(
    dataset: Path,
    bundle: Bundle,
    out: Path,
    *,
    explain: Explain = "alerts",
    as_of: datetime | None = None,
    partitions: int | None = None,
    engine: ScoreEngine = "local",
    scheduler: str | None = None,
    validate: bool = True,
    verify: bool = True,
    validation_tick: TableTick | None = None,
    tick: Tick | None = None,
) -> ScoredDataset:
    """Score every entity of ``dataset`` with ``bundle`` into ``out``. Unless ``validate`` is
    off, the data contracts run first (and, unless ``verify`` is off, each file is checked
    against its manifest's SHA-256): rows that break one are kept under ``<out>/validated``
    (with their rules) and only the accepted rows are scored. ``out`` is replaced as one unit
    once everything is written: an interrupted or failed run leaves the previous one intact."""
    check_replaceable(out, RUN_RECORD, "a flowrisk scoring output")
    quarantined, source = None, dataset
    with reading_dataset(dataset), replace_folder_atomically(out) as staging:
        if validate:
            report = validate_dataset(
                dataset,
                quarantine=staging / "validated",
                quarantine_when="dirty",
                engine="polars",
                progress=validation_tick,
                verify=verify,
                scheduler=scheduler if engine == "dask" else None,
            )
            if not report.clean:
                quarantined, dataset = report, staging / "validated" / "accepted"
        when = as_of or scoring_date(read_dataset(dataset, tables=["transactions"], verify=verify))
        run = score_dataset(
            dataset,
            bundle.model,
            bundle.baselines,
            out,
            as_of=when,
            model_uri=bundle.uri,
            model_version=bundle.version,
            explain_mode=explain,
            partitions=partitions,
            engine=engine,
            scheduler=scheduler,
            progress=tick,
            verify=verify,
            staging=staging,
            source=source,
        )
    return ScoredDataset(run, when, bundle, out, quarantined)


def top_alerts(explanations: Path, count: int) -> pl.DataFrame:
    """The ``count`` highest-scored explained entities, riskiest first (raw log-odds: calibrated
    scores tie at the top)."""
    return (
        pl.read_parquet(explanations)
        .sort(["raw_log_odds", "entity_id"], descending=[True, False])
        .head(count)
    )
