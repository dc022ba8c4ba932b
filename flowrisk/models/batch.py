"""Batch scoring: every entity of a dataset scored (and the alerts explained) partition by
partition, so memory stays bounded however large the dataset, on this machine or on a Dask
cluster running the very same partition function.

Writes ``scores.parquet`` (one row per entity), ``explanations.parquet`` (reasons, tags, red
flags and evidence of the explained entities) and, last, ``run.json`` (status, start and end
times, flowrisk and model versions, dataset digest, counts, feature drift against the model's
training reference) to the output folder, as one unit:
everything is written into a temporary folder beside it that replaces it only once complete, so
an interrupted run leaves the previous output as it was. An edge module: reads the dataset,
writes files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import (
    Baselines,
    RunMode,
    build_partition,
    collect_plans,
    entity_partitions,
    partitions_for,
    red_flags,
    red_flags_of,
)
from flowrisk.io import (
    ParquetSink,
    check_replaceable,
    manifest_digest,
    read_dataset,
    replace_folder_atomically,
)
from flowrisk.io.cluster import Engine, check_engine, in_order, on_cluster
from flowrisk.models.drift import Counts, Drift, bin_counts, drift_report, merge_counts
from flowrisk.models.explain import EXPLANATION_SCHEMA, explain
from flowrisk.models.scorer import RiskModel
from flowrisk.schema import ALERT_BANDS, BANDS

__all__ = [
    "RUN_RECORD",
    "SCORE_SCHEMA",
    "Explain",
    "PartitionResult",
    "ScoreEngine",
    "ScoreRun",
    "explain_entities",
    "score_dataset",
    "score_partition",
]

RUN_RECORD = "run.json"  # written last, by a run that finished
BATCH_THREADS = 0  # TreeSHAP over a partition on every core (LightGBM's default); same numbers
Explain = Literal["alerts", "all", "none"]
ScoreEngine = Engine  # where partitions run
SCORE_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "entity_id": pl.String,
        "entity_type": pl.String,
        "as_of": pl.Datetime("us", "UTC"),
        "probability": pl.Float64,
        "score": pl.Float64,
        "band": pl.Enum(BANDS),
    }
)
# one partition's scores, explanations and feature histogram (rows per drift reference bin)
PartitionResult = tuple[pl.DataFrame, pl.DataFrame, Counts]


@dataclass
class ScoreRun:
    """What a batch run did: where it wrote, with which model and data, when, and how many of
    each band (``run.json``, written last: a folder without it is not a finished run)."""

    status: str  # "complete": run.json is only ever written by a run that finished
    started_at: str  # ISO times with zone (UTC)
    finished_at: str
    flowrisk_version: str
    source: str  # the dataset as the operator named it
    dataset_digest: str | None  # SHA-256 of the source's manifest, when it has one
    dataset: str  # what was scored: the source, or its accepted rows under <out>/validated
    out: str
    model_uri: str
    model_version: str | None
    as_of: str
    engine: str
    partitions: int
    entities: int
    explained: int
    bands: dict[str, int]
    seconds: float
    drift: Drift | None = None  # PSI per feature against the training reference (or why not)


def explain_entities(
    frames: dict[str, pl.LazyFrame],
    profiles: pl.DataFrame,
    as_of: datetime,
    model: RiskModel,
    baselines: Baselines,
    mode: RunMode = "bulk",
    flags: pl.DataFrame | None = None,
    threads: int = 1,
) -> pl.DataFrame:
    """Explanations of ``profiles`` with their sector baselines and red flags (the single path
    used by batch scoring, ``flowrisk explain``, the case report and the API). ``flags``: the
    entities' red flags when the caller has them already (batch: from the legs it read)."""
    ids = profiles["entity_id"].to_list()
    sectors = (
        frames["entities"].filter(pl.col("entity_id").is_in(ids)).select("entity_id", "sector_code")
    )
    return explain(
        model,
        profiles,
        baselines=baselines,
        sectors=collect_plans([sectors], mode)[0],
        red_flags=red_flags(frames, as_of, ids, mode) if flags is None else flags,
        threads=threads,
    )


def score_partition(
    dataset: str,
    members: list[str],
    as_of: datetime,
    model: RiskModel,
    baselines: Baselines,
    explain_mode: Explain,
) -> PartitionResult:
    """Scores of ``members`` (and explanations, per ``explain_mode``) and their features'
    counts per bin of the model's drift reference (empty without one): the unit of work of both
    engines. Takes a dataset path, not frames, so that a Dask worker reads the data itself. One
    pass: the legs are read once, for the profiles and the red flags of the explained."""
    frames = read_dataset(Path(dataset), verify=False)  # score_dataset checked the files
    profiles, ctx = build_partition(frames, as_of, baselines, members)
    scored = model.score(profiles)
    scores = scored.with_columns(
        profiles["entity_type"].cast(pl.String), pl.lit(as_of).alias("as_of")
    ).select(SCORE_SCHEMA.names())
    counts = bin_counts(model.reference, profiles) if model.reference is not None else {}
    if explain_mode == "none" or profiles.is_empty():
        return scores, EXPLANATION_SCHEMA.to_frame(), counts
    chosen = profiles
    if explain_mode == "alerts":
        chosen = profiles.filter(scored["band"].cast(pl.String).is_in(ALERT_BANDS))
    if chosen.is_empty():
        return scores, EXPLANATION_SCHEMA.to_frame(), counts
    flags = red_flags_of(ctx, chosen["entity_id"].to_list())
    explained = explain_entities(
        frames, chosen, as_of, model, baselines, flags=flags, threads=BATCH_THREADS
    )
    return scores, explained, counts


def _write(
    results: Iterator[PartitionResult],
    out: Path,
    parts: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[int, int, dict[str, int], Counts]:
    """Write each partition's scores and explanations as they come; returns the entities
    scored, the entities explained, the count per band and the summed drift histograms."""
    bands = dict.fromkeys(BANDS, 0)
    explained = 0
    histogram: Counts = {}
    out.mkdir(parents=True, exist_ok=True)
    with (
        ParquetSink(out / "scores.parquet", SCORE_SCHEMA) as scores_out,
        ParquetSink(out / "explanations.parquet", EXPLANATION_SCHEMA) as explained_out,
    ):
        for done, (scores, explanations, counts) in enumerate(results, 1):
            histogram = merge_counts(histogram, counts)
            scores_out.write(scores)
            explained_out.write(explanations)
            explained += explanations.height
            for band, n in scores["band"].cast(pl.String).value_counts().iter_rows():
                bands[band] += n
            if progress is not None:
                progress(done, parts)
    return scores_out.rows, explained, bands, histogram


def _flowrisk_version() -> str:
    try:
        return version("flowrisk")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _final(path: Path, staging: Path | None, out: Path) -> Path:
    """Where ``path``, written under ``staging``, is once ``staging`` has become ``out``."""
    if staging is not None and path.is_relative_to(staging):
        return out / path.relative_to(staging)
    return path


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_options(explain_mode: str, engine: str, scheduler: str | None) -> None:
    if explain_mode not in ("alerts", "all", "none"):
        raise InvalidParameter("explain", f"must be alerts, all or none, got {explain_mode!r}")
    check_engine(engine, scheduler)


def score_dataset(
    dataset: Path,
    model: RiskModel,
    baselines: Baselines,
    out: Path,
    *,
    as_of: datetime,
    model_uri: str = "",
    model_version: str | None = None,
    explain_mode: Explain = "alerts",
    partitions: int | None = None,
    engine: ScoreEngine = "local",
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    verify: bool = True,
    staging: Path | None = None,
    source: Path | None = None,
) -> ScoreRun:
    """Score every entity of ``dataset`` as of ``as_of`` and write the results under ``out``,
    replacing it only once the run is complete. ``staging`` is the temporary folder of a caller
    that replaces ``out`` itself (with more in it); ``source`` is the dataset as the operator
    named it, when ``dataset`` is a validated copy of it (for the digest in ``run.json``)."""
    _check_options(explain_mode, engine, scheduler)
    if staging is None:
        check_replaceable(out, RUN_RECORD, "a flowrisk scoring output")
    started, started_at = time.perf_counter(), _now()
    frames = read_dataset(dataset, verify=verify)
    count = partitions or partitions_for(frames)
    if count < 1:
        raise InvalidParameter("partitions", f"must be at least 1, got {count}")
    parts = [p.to_list() for p in entity_partitions(frames, count) if len(p)]
    calls = [(str(dataset.resolve()), members, as_of) for members in parts]
    shared = {"model": model, "baselines": baselines, "explain_mode": explain_mode}
    with (
        on_cluster(scheduler if engine == "dask" else None) as client,
        nullcontext(staging) if staging else replace_folder_atomically(out) as folder,
    ):
        results = in_order(score_partition, calls, client, shared)
        entities, explained, bands, histogram = _write(results, folder, len(parts), progress)
        run = ScoreRun(
            status="complete",
            started_at=started_at,
            finished_at=_now(),
            flowrisk_version=_flowrisk_version(),
            source=str(source or dataset),
            dataset_digest=manifest_digest(source or dataset),
            dataset=str(_final(dataset, staging, out)),
            out=str(out),
            model_uri=model_uri,
            model_version=model_version,
            as_of=as_of.isoformat(),
            engine=engine,
            partitions=len(parts),
            entities=entities,
            explained=explained,
            bands=bands,
            seconds=round(time.perf_counter() - started, 2),
            drift=drift_report(model.reference, histogram),
        )
        text = json.dumps(asdict(run), indent=2) + "\n"
        (folder / RUN_RECORD).write_text(text, encoding="utf-8")
    return run
