"""One entity of a dataset explained, and its case report written."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.errors import EntityNotFound, InvalidParameter
from flowrisk.io import read_dataset
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
    partial = out.with_name(f".{out.name}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what failed
            partial.unlink(missing_ok=True)
        raise InvalidParameter("out", f"cannot write {out}: {exc.strerror}") from None
    return explained
