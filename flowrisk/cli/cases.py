"""Commands of the analyst's cases: ``cases list|show|open|assign|status|note|dispose`` (every
change audited, in the service's database), ``cases export`` (the case's goAML report) and
``feedback export`` (closed cases as training labels for ``flowrisk train --feedback``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from flowrisk.cli._app import VerifyOption, app, console, exits
from flowrisk.cli.audit import cli_actor
from flowrisk.config import get_settings

if TYPE_CHECKING:
    from flowrisk.cases import Actor, Case, CaseStore

__all__ = [
    "ReasonCode",
    "Status",
    "cases_app",
    "cases_assign",
    "cases_dispose",
    "cases_export",
    "cases_list",
    "cases_note",
    "cases_open",
    "cases_show",
    "cases_status",
    "feedback_app",
    "feedback_export",
]

PANEL = "Cases and feedback"
# the parser's choices; tests/unit/cli/test_cases.py holds them equal to flowrisk.cases'
Status = Literal["open", "in_review", "escalated", "reported", "dismissed"]
ReasonCode = Literal[
    "confirmed_suspicious",
    "insufficient_evidence",
    "explained_by_documents",
    "false_positive",
    "duplicate",
]
cases_app = typer.Typer(help="Cases: what analysts decide about alerts.", no_args_is_help=True)
app.add_typer(cases_app, name="cases", rich_help_panel=PANEL)
feedback_app = typer.Typer(help="Analysts' decisions as training labels.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback", rich_help_panel=PANEL)
CaseId = Annotated[str, typer.Argument(help="The case reference, e.g. C-2026-0001.")]
NoteOption = Annotated[str, typer.Option(help="A note kept in the case's timeline.")]


def _store() -> CaseStore:
    from flowrisk.cases import CaseStore

    settings = get_settings()
    return CaseStore(settings.audit_url, settings.audit_timeout_seconds)


def _actor() -> Actor:
    from flowrisk.cases import Actor

    return Actor(name=cli_actor())


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z") if at is not None else "-"


def _say(case: Case, what: str) -> None:
    console.print(f"case {case.id} ({case.entity_id}): {what}", highlight=False)


@cases_app.command("list")
@exits
def cases_list(
    status: Annotated[Status | None, typer.Option(help="Only cases with this status.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only cases given to them.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only cases on this entity.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most cases shown.")] = 100,
) -> None:
    """The cases, newest first."""
    found = _store().list_cases(status=status, assignee=assignee, entity_id=entity, limit=limit)
    table = Table(title=f"{len(found)} case(s)", title_justify="left")
    for column in ("case", "entity", "status"):
        table.add_column(column, no_wrap=True)  # what the analyst copies: never cut
    for column in ("assignee", "opened", "reason", "alert"):
        table.add_column(column, overflow="fold")
    for c in found:
        alert = f"{c.alert.run} {c.alert.band or ''}".strip() if c.alert else "-"
        cells = (c.id, c.entity_id, c.status, c.assignee or "-", _when(c.opened_at))
        table.add_row(*cells, c.reason_code or "-", escape(alert))
    console.print(table)


@cases_app.command("show")
@exits
def cases_show(case_id: CaseId) -> None:
    """A case and its timeline, oldest first."""
    case = _store().get(case_id)
    console.print(
        f"case {case.id} on {case.entity_id}: {case.status}, assignee {case.assignee or '-'}, "
        f"opened {_when(case.opened_at)} by {case.opened_by}"
        + (f", decided {_when(case.decided_at)} ({case.reason_code})" if case.decided_at else ""),
        highlight=False,
        soft_wrap=True,
    )
    for e in case.events:
        change = {
            "opened": "opened",
            "status": f"status {e.from_status} -> {e.to_status}",
            "assignment": f"assigned to {e.assignee}",
            "disposition": f"closed as {e.to_status} ({e.reason_code})",
            "note": "note",
        }[e.kind]
        text = f": {escape(e.text)}" if e.text else ""
        console.print(f"  {_when(e.at)}  {e.actor}  {change}{text}", highlight=False)


@cases_app.command("open")
@exits
def cases_open(
    entity_id: Annotated[str, typer.Argument(help="The entity the case is about.")],
    run: Annotated[str | None, typer.Option(help="The batch run whose alert it is.")] = None,
    score: Annotated[float | None, typer.Option(help="The alert's score.")] = None,
    band: Annotated[str | None, typer.Option(help="The alert's band.")] = None,
    note: NoteOption = "",
) -> None:
    """Open a case on an entity (from an alert with --run); refused while one is open."""
    from flowrisk.cases import Alert

    alert = Alert(run, score, band) if run else None
    case = _store().open(entity_id, _actor(), alert=alert, note=note)
    _say(case, "opened")


@cases_app.command("assign")
@exits
def cases_assign(
    case_id: CaseId, assignee: Annotated[str, typer.Argument(help="Who works on it.")]
) -> None:
    """Give a case to an analyst."""
    _say(_store().assign(case_id, assignee, _actor()), f"assigned to {assignee}")


@cases_app.command("status")
@exits
def cases_status(
    case_id: CaseId,
    status: Annotated[Status, typer.Argument(help="open, in_review or escalated.")],
    note: NoteOption = "",
) -> None:
    """Move a case along its lifecycle (closing it is `cases dispose`)."""
    _say(_store().set_status(case_id, status, _actor(), note), f"now {status}")


@cases_app.command("note")
@exits
def cases_note(case_id: CaseId, text: Annotated[str, typer.Argument(help="The note.")]) -> None:
    """Add a note to a case's timeline (notes are never edited or removed)."""
    _say(_store().note(case_id, text, _actor()), "note added")


@cases_app.command("dispose")
@exits
def cases_dispose(
    case_id: CaseId,
    reason: Annotated[ReasonCode, typer.Option(help="Why: decides reported or dismissed.")],
    note: NoteOption = "",
) -> None:
    """Close a case with a reason code (confirmed_suspicious reports it, the others dismiss
    it); the decision becomes a training label."""
    case = _store().dispose(case_id, reason, _actor(), note)
    _say(case, f"closed as {case.status} ({reason})")


@cases_app.command("export")
@exits
def cases_export(
    case_id: CaseId,
    out: Annotated[Path, typer.Option(help="The goAML XML file to write (.xml).")],
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="Dataset folder the entity is explained on (default FLOWRISK_SERVE_DATASET)."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Registry URI of the model (default: the champion).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Explain as of this date (default: the dataset's scoring date)."),
    ] = None,
    verify: VerifyOption = True,
) -> None:
    """Write the case's suspicious-transaction report as goAML XML, validated against the
    shipped XSD: its entity explained by the model on the dataset, the evidence transactions
    between named parties, the case as reference, the analyst and the disposition as reason.
    The lookup is audited with the case as its purpose."""
    from flowrisk.cli._app import parse_as_of
    from flowrisk.cli.scoring import _bundle, _lookup
    from flowrisk.errors import InvalidParameter
    from flowrisk.pipeline import write_case_goaml
    from flowrisk.reports.goaml_build import reporting_entity

    settings = get_settings()
    if out.suffix.lower() != ".xml":
        raise InvalidParameter("--out", f"must end in .xml, got {out.name!r}")
    folder = dataset or settings.serve_dataset
    if folder is None:
        raise InvalidParameter(
            "--dataset",
            "needed (or FLOWRISK_SERVE_DATASET): the data to explain the case's entity on",
        )
    when = parse_as_of(as_of) if as_of else None
    reporting_entity(settings.reporting_entity_id)  # refused before anything is read
    case = _store().get(case_id)
    lookup = _lookup(case.id, "flowrisk cases export")
    explained = write_case_goaml(
        folder,
        case,
        _bundle(model, folder),
        out,
        lookup,
        reporting_entity_id=settings.reporting_entity_id,
        as_of=when,
        verify=verify,
    )
    row = explained.row
    _say(case, f"goAML report (score {row['score']:.1f}, {row['band']}) -> {out}")


@feedback_app.command("export")
@exits
def feedback_export(
    out: Annotated[Path, typer.Option(help="File to write (.csv or .parquet).")],
) -> None:
    """Write closed cases as labels (1 confirmed and reported, 0 dismissed, dated by the
    decision) for `flowrisk train --feedback`."""
    from flowrisk.cases.feedback import feedback_frame, write_feedback

    frame = feedback_frame(_store().decided())
    write_feedback(frame, out)
    positives = int((frame["label"] == 1).sum())
    console.print(
        f"{frame.height} feedback label(s) ({positives} confirmed, "
        f"{frame.height - positives} dismissed) -> {out}",
        highlight=False,
    )
