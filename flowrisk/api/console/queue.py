"""The console's alert queue (``/ui/queue``) and entity search (``/ui/search``): pages over
the registered scoring run and the service's dataset, each view audited with the session's
case reference."""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from flowrisk.api.console.alerts import (
    SEARCH_LIMIT,
    AlertQueue,
    CaseStatuses,
    QueueFilters,
    search_entities,
)
from flowrisk.api.console.auth import ConsoleRefused, PurposeSet, Viewer, audit_row, audit_view
from flowrisk.api.console.pages import render
from flowrisk.errors import InvalidParameter
from flowrisk.schema import BANDS

__all__ = ["router"]

router = APIRouter(tags=["console"], include_in_schema=False)
Text = Annotated[str, Query(max_length=100)]


def _queue(request: Request) -> AlertQueue | None:
    queue: AlertQueue | None = getattr(request.app.state, "alert_queue", None)
    return queue


def _statuses(request: Request) -> CaseStatuses | None:
    statuses: CaseStatuses | None = getattr(request.app.state, "case_statuses", None)
    return statuses


@router.get("/ui/queue")
def queue_page(
    request: Request,
    user: Viewer,
    _: PurposeSet,
    band: Text = "alerts",
    typology: Text = "",
    entity_type: Text = "",
    status: Text = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The registered run's entities, best score first, filtered and paged."""
    filters = QueueFilters(band, typology, entity_type, status, page)
    try:
        filters.check()
    except InvalidParameter as exc:
        audit_row(request, user, status=400)
        raise ConsoleRefused(400, "Bad filter", str(exc)) from None
    queue, statuses = _queue(request), _statuses(request)
    audit_view(request, user)
    known = statuses() if statuses is not None else None
    dismissed = getattr(request.app.state, "dismissed_before", None)
    context: dict[str, Any] = {
        "dismissed": dismissed() if dismissed is not None else set(),
        "queue": queue,
        "filters": filters,
        "bands": BANDS,
        "with_status": known is not None,
        "case_statuses": sorted(set(known.values())) if known else [],
        "page": queue.page(filters, known) if queue else None,
    }
    return render(request, "queue.html", context)


def _entities(request: Request) -> pl.DataFrame | None:
    entities: pl.DataFrame | None = getattr(request.app.state, "console_entities", None)
    return entities


@router.get("/ui/search")
def search_page(request: Request, user: Viewer, _: PurposeSet, q: Text = "") -> Response:
    """Entities of the service's dataset by id or name, with their score in the queue's run."""
    entities, queue = _entities(request), _queue(request)
    audit_view(request, user)
    found, total = search_entities(entities, q) if entities is not None and q.strip() else ([], 0)
    scored = queue.lookup([row["entity_id"] for row in found]) if queue and found else {}
    for row in found:
        row["scored"] = scored.get(row["entity_id"])
    context = {
        "q": q,
        "found": found,
        "total": total,
        "limit": SEARCH_LIMIT,
        "searchable": entities is not None,
    }
    return render(request, "search.html", context)
