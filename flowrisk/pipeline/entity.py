"""One entity of a dataset explained, and its case report written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.errors import EntityNotFound
from flowrisk.io import read_dataset, replace_file_atomically
from flowrisk.models.dataset import scoring_date
from flowrisk.models.registry import Bundle
from flowrisk.models.report import case_report, entity_facts
from flowrisk.models.scoring import explain_entity
from flowrisk.pipeline.readable import reading_dataset

__all__ = ["ExplainedEntity", "explain_in_dataset", "write_case_report"]


@dataclass(frozen=True)
class ExplainedEntity:
    """An entity's explanation row with the frames and date it was computed from."""

    row: dict[str, Any]
    frames: dict[str, pl.LazyFrame]
    as_of: datetime
    bundle: Bundle


def explain_in_dataset(
    dataset: Path,
    entity_id: str,
    bundle: Bundle,
    as_of: datetime | None = None,
    *,
    verify: bool = True,
) -> ExplainedEntity:
    """Why ``entity_id`` of ``dataset`` scores what it scores, as of ``as_of`` (default: the
    first month start after the last transaction); raises EntityNotFound for an unknown id.
    With ``verify``, the files are checked against the manifest's SHA-256 first."""
    frames = read_dataset(dataset, verify=verify)
    try:
        with reading_dataset(dataset):
            when = as_of or scoring_date(frames)
            row = explain_entity(frames, entity_id, when, bundle.model, bundle.baselines)
    except EntityNotFound as exc:
        raise EntityNotFound(f"{exc} in {dataset}") from None
    return ExplainedEntity(row, frames, when, bundle)


def write_case_report(
    dataset: Path,
    entity_id: str,
    bundle: Bundle,
    out: Path,
    as_of: datetime | None = None,
    *,
    verify: bool = True,
) -> ExplainedEntity:
    """Write the self-contained HTML case report on ``entity_id`` to ``out`` (through a
    temporary file renamed when complete, so a failed write never leaves half a page)."""
    explained = explain_in_dataset(dataset, entity_id, bundle, as_of, verify=verify)
    with reading_dataset(dataset):
        facts = entity_facts(explained.frames, entity_id, explained.as_of)
    page = case_report(
        explained.row,
        facts,
        as_of=explained.as_of,
        model=f"{bundle.uri} (version {bundle.version})",
    )
    with replace_file_atomically(out) as staged:
        staged.write_text(page, encoding="utf-8")
    return explained
