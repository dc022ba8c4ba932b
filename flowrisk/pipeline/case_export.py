"""A case's goAML report written from the command line: the case's entity explained on a
dataset by a registered model, recorded in the audit trail with the case as its purpose,
then the report built (the same builder the console uses), validated against the shipped XSD
and written atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flowrisk.cases import Case
from flowrisk.models.registry import Bundle
from flowrisk.pipeline.entity import ExplainedEntity, Lookup, explain_in_dataset
from flowrisk.pipeline.readable import reading_dataset
from flowrisk.reports.facts import entity_facts
from flowrisk.reports.goaml import write_goaml
from flowrisk.reports.goaml_build import case_goaml, reporting_entity

__all__ = ["write_case_goaml"]


def write_case_goaml(
    dataset: Path,
    case: Case,
    bundle: Bundle,
    out: Path,
    lookup: Lookup,
    *,
    reporting_entity_id: str | None,
    as_of: datetime | None = None,
    verify: bool = True,
    submitted_at: datetime | None = None,
) -> ExplainedEntity:
    """Write the goAML report of ``case`` to ``out``: its entity explained as of ``as_of``
    (default: the dataset's scoring date), recorded by ``lookup`` first; an unset reporting
    entity is refused before anything is looked up, an invalid report writes nothing."""
    rentity = reporting_entity(reporting_entity_id)
    explained = explain_in_dataset(dataset, case.entity_id, bundle, lookup, as_of, verify=verify)
    with reading_dataset(dataset):
        facts = entity_facts(explained.frames, case.entity_id, explained.as_of)
    report = case_goaml(
        explained.row, facts, case, reporting_entity=rentity, submitted_at=submitted_at
    )
    write_goaml(report, out)
    return explained
