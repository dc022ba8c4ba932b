"""Rendering console pages: Jinja2 templates shipped in the package (``templates/``, each
extending ``base.html`` with blocks ``title`` and ``content``), HTML escaped, filled with what
every page shows (the user, their role, the session's CSRF token and case reference, the
locale and its ``t``), and sent with headers that keep entity data out of caches and other
sites' frames."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from flowrisk.api.console.auth import ConsoleUser
from flowrisk.api.console.strings import t

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


def render(
    request: Request, template_name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A console page from ``template_name`` with ``context`` and what every page shows."""
    user: ConsoleUser | None = getattr(request.state, "console_user", None)
    locale = user.locale if user else request.app.state.config.locale
    filled = {
        "request": request,
        "user": user,
        "role": user.role if user else None,
        "csrf": user.csrf if user else "",
        "purpose": user.purpose if user else None,
        "locale": locale,
        "path": request.url.path,
        "t": lambda key, **values: t(key, locale, **values),
        **context,
    }
    html = templates.get_template(template_name).render(filled)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
