"""Rendering console pages: Jinja2 templates shipped in the package (``templates/``, each
extending ``base.html`` with blocks ``title`` and ``content``), HTML escaped, filled with what
every page shows (the user, their role, the session's CSRF token and case reference, the
locale with its ``t`` and its formats of amounts, numbers, days and times), and sent with
headers that keep entity data out of caches and other sites' frames."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from flowrisk.api.console.auth import ConsoleUser, locale_of
from flowrisk.api.console.strings import SUPPORTED, catalog, t
from flowrisk.reports import locale as formats

__all__ = ["SECURITY_HEADERS", "render", "templates"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = jinja2.Environment(
    loader=jinja2.PackageLoader("flowrisk.api.console", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _moment(value: datetime | str, locale: str, seconds: bool) -> str:
    """A moment in the reader's zone, from a datetime or its ISO text (as a run's record
    holds it); a text that is no time (a run named otherwise) is shown as it is."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    assert isinstance(moment, datetime)
    return formats.when(moment, locale, seconds=seconds)


def _day(value: date | datetime | str) -> date:
    """A calendar day, from a date, a moment or an ISO text (its date part)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def _formats(locale: str) -> dict[str, Any]:
    """The page's words and formats, bound to its locale: ``t``, ``money`` (``27 843,00 €``),
    ``number``, ``day`` and ``when`` (a moment in the reader's zone, the zone shown)."""
    return {
        "t": lambda key, **values: t(key, locale, **values),
        "money": lambda value: "" if value is None else formats.money(value, locale),
        "number": lambda value, digits=0: formats.number(value, locale, digits),
        "day": lambda value: formats.day(_day(value), locale),
        "when": lambda moment, seconds=False: _moment(moment, locale, seconds),
    }


def render(
    request: Request, template_name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A console page from ``template_name`` with ``context`` and what every page shows."""
    user: ConsoleUser | None = getattr(request.state, "console_user", None)
    locale = user.locale if user else locale_of(request)
    query = request.url.query
    filled = {
        "request": request,
        "user": user,
        "role": user.role if user else None,
        "csrf": user.csrf if user else "",
        "purpose": user.purpose if user else None,
        "locale": locale,
        "locales": SUPPORTED,
        "path": request.url.path,
        "here": request.url.path + (f"?{query}" if query else ""),
        "words": catalog(locale),
        **_formats(locale),
        **context,
    }
    html = templates.get_template(template_name).render(filled)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
