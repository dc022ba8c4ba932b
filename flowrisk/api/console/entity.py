"""The console's entity page (``/ui/entities/{entity_id}``): the entity's explained score,
red flags and reasons with their evidence, monthly flows and money network, and for
supervisors the history of lookups of this entity. Every view is audited (with the session's
case reference) before the page is rendered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from flowrisk.api.console.alerts import AlertQueue
from flowrisk.api.console.audit_pages import latest_rows
from flowrisk.api.console.auth import (
    ConsoleRefused,
    ConsoleUser,
    PurposeSet,
    Viewer,
    audit_row,
    audit_view,
)
from flowrisk.api.console.cases import case_store
from flowrisk.api.console.entity_view import ScoresOf, entity_view, page_frames
from flowrisk.api.console.pages import render
from flowrisk.api.service import ApiConfig
from flowrisk.errors import EntityNotFound, ModelNotFound
from flowrisk.reports.network import Score

__all__ = ["HISTORY_ROWS", "router"]
ACTIVE = ("open", "in_review", "escalated")

router = APIRouter(tags=["console"], include_in_schema=False)
HISTORY_ROWS = 50  # the latest lookups a supervisor sees on the page
# printable: a control character in an id is refused (422) before any lookup
EntityId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _scores_of(request: Request) -> ScoresOf | None:
    """Bands and scores from the registered run, for the network's other entities."""
    queue: AlertQueue | None = getattr(request.app.state, "alert_queue", None)
    if queue is None:
        return None
    run = queue

    def lookup(ids: list[str]) -> Mapping[str, Score]:
        rows = run.lookup(ids)
        return {i: Score(str(r["band"]), float(r["score"])) for i, r in rows.items()}

    return lookup


def _cases_of(request: Request, entity_id: str) -> dict[str, Any]:
    """The entity's case in progress (a link to it), else the alert of the registered run a
    new case would be opened from (the form's hidden fields)."""
    latest = case_store(request).list_cases(entity_id=entity_id, limit=1)
    if latest and latest[0].status in ACTIVE:
        return {"active_case": latest[0], "alert": None}
    queue: AlertQueue | None = getattr(request.app.state, "alert_queue", None)
    row = queue.lookup([entity_id]).get(entity_id) if queue is not None else None
    alert = None
    if queue is not None and row is not None:
        run = queue.run.get("finished_at") or queue.run.get("as_of")
        alert = {"run": run, "score": row["score"], "band": row["band"]}
    return {"active_case": None, "alert": alert}


def _refuse(request: Request, user: ConsoleUser, entity_id: str, status: int, why: str) -> NoReturn:
    """The refusal's audit row, then the refusal as an HTML page."""
    audit_row(request, user, status=status, entity_id=entity_id)
    title = "Not found" if status == 404 else "Service unavailable"
    raise ConsoleRefused(status, title, why)


@router.get("/ui/entities/{entity_id}")
def entity_page(request: Request, entity_id: EntityId, user: Viewer, _: PurposeSet) -> Response:
    """One entity of the service's dataset, explained, with its money network."""
    config: ApiConfig = request.app.state.config
    if config.dataset is None:
        _refuse(request, user, entity_id, 404, "the service was started without a dataset")
    try:
        frames = page_frames(config.dataset, entity_id)
        loaded = config.holder.current
        explained = config.dataset.score(entity_id, loaded, True)
    except EntityNotFound as exc:
        _refuse(request, user, entity_id, 404, str(exc))
    except ModelNotFound as exc:
        _refuse(request, user, entity_id, 503, str(exc))
    audit_view(request, user, entity_id=entity_id)  # committed before anything is shown
    history = None
    if user.has_role("supervisor"):
        history = latest_rows(config.store, entity_id=entity_id, limit=HISTORY_ROWS)
    context = entity_view(
        frames,
        entity_id,
        config.dataset.as_of,
        loaded,
        explained=explained,
        scores_of=_scores_of(request),
        history=history,
        locale=user.locale,
    )
    context.update(_cases_of(request, entity_id))
    return render(request, "entity.html", context)
