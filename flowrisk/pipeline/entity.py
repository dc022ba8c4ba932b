"""One entity of a dataset explained, and its case report written: each a lookup recorded in
the audit trail, with its purpose, before anything about the entity is shown or written."""

from __future__ import annotations

import getpass
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.audit import Store
from flowrisk.errors import EntityNotFound
from flowrisk.io import manifest_digest, read_dataset, replace_file_atomically
from flowrisk.models.dataset import scoring_date
from flowrisk.models.registry import Bundle
from flowrisk.models.scoring import explain_entity
from flowrisk.pipeline.readable import reading_dataset
from flowrisk.reports.case import case_report, case_report_pdf, entity_facts, report_network
from flowrisk.reports.locale import check_locale

__all__ = ["ExplainedEntity", "Lookup", "explain_in_dataset", "write_case_report"]


@dataclass(frozen=True)
class ExplainedEntity:
    """An entity's explanation row with the frames and date it was computed from."""

    row: dict[str, Any]
    frames: dict[str, pl.LazyFrame]
    as_of: datetime
    bundle: Bundle


def _actor() -> str:
    """Who runs the command, as the audit trail names them (the operating-system user)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers): the numeric user id
        return f"cli:uid {os.getuid()}"


@dataclass(frozen=True)
class Lookup:
    """A lookup from the command line: the audit store it is recorded in, its (already
    checked) purpose and the command, e.g. ``flowrisk explain``."""

    store: Store
    purpose: str
    command: str

    def record(self, dataset: Path, explained: ExplainedEntity) -> None:
        """One audit row for the entity looked up (``AuditUnavailable`` when it cannot be
        committed: the caller then shows nothing). ``status`` is the command's exit code."""
        row = explained.row
        source = manifest_digest(dataset) or str(dataset.resolve())
        asked = f"{source}|{row['entity_id']}|{explained.as_of.isoformat()}"
        self.store.append(
            [
                {
                    "at": datetime.now(UTC),
                    "key_id": None,
                    "role": None,
                    "actor": _actor(),
                    "method": "CLI",
                    "route": self.command,
                    "status": 0,
                    "entity_id": row["entity_id"],
                    "purpose": self.purpose,
                    "model_version": explained.bundle.version,
                    "score": row.get("score"),
                    "band": row.get("band"),
                    "request_hash": hashlib.sha256(asked.encode()).hexdigest(),
                    "request_id": uuid.uuid4().hex,
                }
            ]
        )


def explain_in_dataset(
    dataset: Path,
    entity_id: str,
    bundle: Bundle,
    lookup: Lookup,
    as_of: datetime | None = None,
    *,
    verify: bool = True,
) -> ExplainedEntity:
    """Why ``entity_id`` of ``dataset`` scores what it scores, as of ``as_of`` (default: the
    first month start after the last transaction), recorded by ``lookup`` before it is
    returned; raises EntityNotFound for an unknown id. With ``verify``, the files are checked
    against the manifest's SHA-256 first."""
    frames = read_dataset(dataset, verify=verify)
    try:
        with reading_dataset(dataset):
            when = as_of or scoring_date(frames)
            row = explain_entity(frames, entity_id, when, bundle.model, bundle.baselines)
    except EntityNotFound as exc:
        raise EntityNotFound(f"{exc} in {dataset}") from None
    explained = ExplainedEntity(row, frames, when, bundle)
    lookup.record(dataset, explained)
    return explained


def write_case_report(
    dataset: Path,
    entity_id: str,
    bundle: Bundle,
    out: Path,
    lookup: Lookup,
    as_of: datetime | None = None,
    *,
    verify: bool = True,
    locale: str = "en",
    pdf: bool = False,
    network_svg: str | None = None,
) -> ExplainedEntity:
    """Write the self-contained case report on ``entity_id`` to ``out``, in ``locale``, as
    HTML or (``pdf``) PDF, headed by the lookup's purpose as case reference and who asked, with
    the money network drawn (``network_svg``, or drawn here from the dataset), once ``lookup``
    has recorded it; written through a temporary file renamed when complete, so a failed write
    never leaves half a report."""
    check_locale(locale)
    explained = explain_in_dataset(dataset, entity_id, bundle, lookup, as_of, verify=verify)
    with reading_dataset(dataset):
        facts = entity_facts(explained.frames, entity_id, explained.as_of)
        if network_svg is None:
            network_svg = report_network(explained.frames, explained.row, explained.as_of, locale)
    page = case_report(
        explained.row,
        facts,
        as_of=explained.as_of,
        model=f"{bundle.uri} (version {bundle.version})",
        locale=locale,
        case_reference=lookup.purpose,
        analyst=_actor(),
        network_svg=network_svg,
    )
    with replace_file_atomically(out) as staged:
        if pdf:
            staged.write_bytes(case_report_pdf(page))
        else:
            staged.write_text(page, encoding="utf-8")
    return explained
