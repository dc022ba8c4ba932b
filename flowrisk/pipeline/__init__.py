"""The services below the command line: each ``flowrisk`` command calls one of these.

They chain the stages (generator, contracts, features, models, registry) and hold the policies
that belong to no single stage: which rows get scored after validation, which model becomes the
first champion, how the main job runs end to end. They print nothing and exit nothing; progress
is reported through callbacks so that any face (CLI, notebook, scheduler) can show it.
"""

from flowrisk.pipeline.benchmark import run_benchmark
from flowrisk.pipeline.case_export import write_case_goaml
from flowrisk.pipeline.entity import (
    ExplainedEntity,
    Lookup,
    explain_in_dataset,
    write_case_report,
)
from flowrisk.pipeline.main_job import (
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
from flowrisk.pipeline.profiles import ProfileFile, strongest_features, write_profiles
from flowrisk.pipeline.progress import TableTick, Tick, Ticks, no_ticks, per_table
from flowrisk.pipeline.readable import reading_dataset
from flowrisk.pipeline.scoring import ScoredDataset, score_validated, top_alerts

__all__ = [
    "Event",
    "ExplainedEntity",
    "Generated",
    "Lookup",
    "ProfileFile",
    "Profiled",
    "Reported",
    "Scored",
    "ScoredDataset",
    "TableTick",
    "Tick",
    "Ticks",
    "Trained",
    "Validated",
    "explain_in_dataset",
    "generate",
    "main_job",
    "no_ticks",
    "per_table",
    "reading_dataset",
    "run_benchmark",
    "score_validated",
    "strongest_features",
    "top_alerts",
    "write_case_goaml",
    "write_case_report",
    "write_profiles",
]
