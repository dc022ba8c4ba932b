"""The analysts' web console, served by the API's app under ``/ui``: server-rendered pages
(Jinja2 templates and a stylesheet shipped in the package, nothing fetched from elsewhere)
behind the same keys and roles as the API, turned into a server-side session at sign-in.

``CONSOLE_ROUTERS`` holds every console router (a module adding pages adds its router here);
``install_console`` gives an app what the pages need: the session store, the alert queue of
the registered scoring run, the entities to search, the static files and the HTML error
pages.

What the pages read from ``app.state``: ``console_sessions`` (``SessionStore``),
``alert_queue`` (``AlertQueue`` or None), ``console_entities`` (the dataset's entities or
None) and ``case_statuses``: None, or a ``CaseStatuses`` function (every entity with a case
and that case's status) that the cases pages set; the queue then shows a case column and a
status filter."""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path

import polars as pl
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from flowrisk.api.console import audit_pages, cases, entity, exports, queue, signin
from flowrisk.api.console.alerts import AlertQueue
from flowrisk.api.console.auth import ConsoleRedirect, ConsoleRefused
from flowrisk.api.console.pages import SECURITY_HEADERS, render
from flowrisk.api.console.sessions import SessionStore
from flowrisk.api.service import ApiConfig

__all__ = ["CONSOLE_ROUTERS", "STATIC", "install_console"]

CONSOLE_ROUTERS: tuple[APIRouter, ...] = (
    signin.router,
    queue.router,
    audit_pages.router,
    entity.router,
    cases.router,
    exports.router,
)
STATIC = Path(__file__).parent / "static"
log = logging.getLogger("flowrisk.api")


def install_console(app: FastAPI, config: ApiConfig) -> None:
    """Mount the console's static files and HTML error pages, open its session store, and
    load the registered scoring run (``config.scores``) and the entities to search."""
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="console-static")
    app.state.console_sessions = SessionStore(config.store, config.session_minutes)
    entities = _entities(config)
    app.state.console_entities = entities
    app.state.alert_queue = None
    app.state.case_statuses = None  # set by the cases pages (alerts.CaseStatuses)
    if config.scores is not None:
        names = entities.select("entity_id", "name") if entities is not None else None
        app.state.alert_queue = AlertQueue.load(config.scores, names)
        if app.state.console_entities is None:
            app.state.console_entities = _run_entities(config.scores)
    if config.cases is not None:  # the queue's case status and "dismissed before" marks
        app.state.case_store = config.cases
        app.state.case_statuses = config.cases.statuses
        app.state.dismissed_before = config.cases.dismissed_before
    app.add_exception_handler(ConsoleRedirect, _redirect)
    app.add_exception_handler(ConsoleRefused, _refused)
    app.state.api_handlers = {
        kind: app.exception_handlers[kind] for kind in (RequestValidationError, HTTPException)
    }
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)


def _entities(config: ApiConfig) -> pl.DataFrame | None:
    if config.dataset is None:
        return None
    return config.dataset.frames["entities"].collect()


def _run_entities(scores: Path) -> pl.DataFrame | None:
    """The entities of the dataset a run scored (when the service has no dataset of its own
    and the run's dataset is still there)."""
    import json

    from flowrisk.io import read_dataset

    dataset = Path(json.loads((scores / "run.json").read_text(encoding="utf-8"))["dataset"])
    try:
        return read_dataset(dataset, tables=["entities"], verify=False)["entities"].collect()
    except Exception as exc:  # a moved or unreadable dataset: the queue still works
        log.warning("console: no entity names from %s: %s", dataset, exc)
        return None


async def _redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleRedirect)
    return RedirectResponse(exc.location, status_code=303, headers=SECURITY_HEADERS)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleRefused)
    context = {"status": exc.status, "title": exc.title, "detail": exc.detail}
    return render(request, "error.html", context, exc.status)


async def _api(request: Request, exc: Exception, kind: type[Exception]) -> Response:
    """The API's own answer (a problem document) to ``exc``."""
    response: Response = await request.app.state.api_handlers[kind](request, exc)
    return response


async def _http(request: Request, exc: Exception) -> Response:
    """A console path that names no page (404, 405) is an HTML page; the API's a problem."""
    if not request.url.path.startswith("/ui"):
        return await _api(request, exc, HTTPException)
    assert isinstance(exc, HTTPException)
    title = HTTPStatus(exc.status_code).phrase
    context = {"status": exc.status_code, "title": title, "detail": str(exc.detail)}
    return render(request, "error.html", context, exc.status_code)


async def _invalid(request: Request, exc: Exception) -> Response:
    """A console page's bad query or form is an HTML page; the API's stays a problem."""
    if not request.url.path.startswith("/ui"):
        return await _api(request, exc, RequestValidationError)
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ("request",), "msg": "invalid"}
    where = ".".join(str(p) for p in first["loc"] if p not in ("query", "body"))
    context = {"status": 422, "title": "Bad request", "detail": f"{where}: {first['msg']}"}
    return render(request, "error.html", context, 422)
