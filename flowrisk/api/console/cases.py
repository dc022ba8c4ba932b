"""The console's cases: the list (``/ui/cases``, filtered), a case's page (``/ui/cases/{id}``:
entity, status, assignee, the timeline of notes and changes, and the forms to assign, move,
annotate and dispose of it), and opening a case from a queue row or an entity. Every view
leaves one audit row (``audit_view``); every change leaves one, written by the case store
in the change's own transaction; every form is CSRF-checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from flowrisk.api.console.auth import (
    ConsoleRefused,
    ConsoleUser,
    CsrfChecked,
    PurposeSet,
    Viewer,
    audit_row,
    audit_view,
)
from flowrisk.api.console.pages import SECURITY_HEADERS, render
from flowrisk.cases import REASONS, STATUSES, TRANSITIONS, Actor, Alert, CaseStore
from flowrisk.errors import InvalidParameter

__all__ = ["case_store", "router"]

router = APIRouter(tags=["console"], include_in_schema=False)
Text = Annotated[str, Query(max_length=100)]
Field = Annotated[str, Form(max_length=10_000)]


def case_store(request: Request) -> CaseStore:
    """The service's case store (opened, and migrated, at start; else on first use)."""
    store: CaseStore | None = getattr(request.app.state, "case_store", None)
    if store is None:
        config = request.app.state.config
        store = config.cases or CaseStore(config.store.url, config.store.timeout)
        request.app.state.case_store = store
    return store


def _actor(user: ConsoleUser) -> Actor:
    return Actor(
        name=user.label or user.key_id,
        key_id=user.key_id,
        role=user.role,
        method="POST",
        origin="/ui/cases",
    )


def _done(case_id: str) -> Response:
    return RedirectResponse(f"/ui/cases/{case_id}", status_code=303, headers=SECURITY_HEADERS)


def _refused(request: Request, user: ConsoleUser, exc: InvalidParameter) -> ConsoleRefused:
    audit_row(request, user, status=400, action="case refused", detail=exc.name)
    return ConsoleRefused(400, "Change refused", str(exc))


@router.get("/ui/cases")
def cases_page(
    request: Request,
    user: Viewer,
    _: PurposeSet,
    status: Text = "",
    assignee: Text = "",
    entity: Text = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The cases, newest first, filtered by status, assignee and entity."""
    if status and status not in STATUSES:
        audit_row(request, user, status=400)
        raise ConsoleRefused(400, "Bad filter", f"status: must be one of {', '.join(STATUSES)}")
    audit_view(request, user)
    size = 50
    found = case_store(request).list_cases(
        status=status or None,
        assignee=assignee.strip() or None,
        entity_id=entity.strip() or None,
        limit=size + 1,
        offset=(page - 1) * size,
    )
    context = {
        "cases": found[:size],
        "more": len(found) > size,
        "page": page,
        "statuses": STATUSES,
        "filters": {"status": status, "assignee": assignee, "entity": entity},
    }
    return render(request, "cases.html", context)


@router.get("/ui/cases/{case_id}")
def case_page(request: Request, user: Viewer, _: PurposeSet, case_id: str) -> Response:
    """One case: its entity, status, assignee, timeline and forms."""
    try:
        case = case_store(request).get(case_id)
    except InvalidParameter as exc:
        audit_row(request, user, status=404)
        raise ConsoleRefused(404, "No such case", str(exc)) from None
    audit_view(request, user, entity_id=case.entity_id, detail=case.id)
    context = {
        "case": case,
        "moves": TRANSITIONS[case.status],
        "reasons": REASONS.values(),
        "closed": case.status not in ("open", "in_review", "escalated"),
    }
    return render(request, "case.html", context)


@router.post("/ui/cases")
def open_case(
    request: Request,
    user: CsrfChecked,
    entity_id: Annotated[str, Form(max_length=64)],
    run: Annotated[str, Form(max_length=200)] = "",
    score: Annotated[float | None, Form()] = None,
    band: Annotated[str, Form(max_length=16)] = "",
    note: Field = "",
) -> Response:
    """Open a case on an entity (from an alert of the queue when ``run`` is given)."""
    alert = Alert(run, score, band or None) if run else None
    try:
        case = case_store(request).open(entity_id, _actor(user), alert=alert, note=note)
    except InvalidParameter as exc:
        raise _refused(request, user, exc) from None
    return _done(case.id)


@router.post("/ui/cases/{case_id}/assign")
def assign_case(
    request: Request, user: CsrfChecked, case_id: str, assignee: Annotated[str, Form()]
) -> Response:
    """Give the case to an analyst."""
    return _change(
        request, user, case_id, lambda store: store.assign(case_id, assignee, _actor(user))
    )


@router.post("/ui/cases/{case_id}/status")
def move_case(
    request: Request,
    user: CsrfChecked,
    case_id: str,
    status: Annotated[str, Form(max_length=16)],
    note: Field = "",
) -> Response:
    """Move the case along its lifecycle."""
    return _change(
        request, user, case_id, lambda store: store.set_status(case_id, status, _actor(user), note)
    )


@router.post("/ui/cases/{case_id}/note")
def note_case(request: Request, user: CsrfChecked, case_id: str, text: Field) -> Response:
    """Append a note to the case's timeline."""
    return _change(request, user, case_id, lambda store: store.note(case_id, text, _actor(user)))


@router.post("/ui/cases/{case_id}/disposition")
def dispose_case(
    request: Request,
    user: CsrfChecked,
    case_id: str,
    reason_code: Annotated[str, Form(max_length=32)],
    note: Field = "",
) -> Response:
    """Close the case with a reason code."""
    return _change(
        request,
        user,
        case_id,
        lambda store: store.dispose(case_id, reason_code, _actor(user), note),
    )


def _change(
    request: Request, user: ConsoleUser, case_id: str, change: Callable[[CaseStore], object]
) -> Response:
    """Apply one change to a case and go back to its page; a refused change (a rule of the
    lifecycle, an unknown case) is a page saying why, audited."""
    try:
        change(case_store(request))
    except InvalidParameter as exc:
        raise _refused(request, user, exc) from None
    return _done(case_id)
