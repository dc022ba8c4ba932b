"""Who is looking at a console page, and the record of it: the signed-in user of a session
cookie (``Viewer``, ``Supervisor``, ``Admin``: roles ordered as the API's keys), the CSRF check
of every form (``CsrfChecked``), the case reference the views are for (``PurposeSet``), and
``audit_view``, which appends the one audit row of a page view before the page is shown (fail
closed: no row, no page).

A page asked for without a session redirects to the sign-in form; a signed-in user of a weaker
role gets a 403 page (audited)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from flowrisk.api.console.sessions import SessionStore, csrf_token
from flowrisk.audit import ROLES, Store
from flowrisk.errors import AuditUnavailable
from flowrisk.reports.locale import SUPPORTED

__all__ = [
    "COOKIE",
    "Admin",
    "ConsoleRedirect",
    "ConsoleRefused",
    "ConsoleUser",
    "CsrfChecked",
    "PurposeSet",
    "Supervisor",
    "Viewer",
    "audit_row",
    "audit_view",
    "current_user",
    "locale_of",
    "require_role",
    "safe_next",
    "sessions_of",
]

COOKIE = "flowrisk_session"
LOCALE_COOKIE = "flowrisk_locale"  # the language the analyst chose in this browser
SIGN_IN = "/ui/sign-in"
HOME = "/ui/queue"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in user of a request: their key id, its label, role and locale, the case
    reference of the session (None until given) and the session's CSRF token."""

    key_id: str
    label: str
    role: str
    locale: str
    purpose: str | None = None
    csrf: str = ""
    token: str = ""

    def has_role(self, role: str) -> bool:
        """Whether this user may use pages of ``role`` (a stronger role may)."""
        return self.role in ROLES[ROLES.index(role) :]


class ConsoleRedirect(Exception):
    """Send the browser elsewhere (303): to sign in, or to give the case reference first."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class ConsoleRefused(Exception):
    """A console page refused with ``status`` (shown as an HTML page, never as JSON)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status, self.title, self.detail = status, title, detail


def sessions_of(request: Request) -> SessionStore:
    """The app's console session store."""
    sessions: SessionStore = request.app.state.console_sessions
    return sessions


def safe_next(target: str | None) -> str:
    """A redirect target kept inside the console (never another site): a path under /ui."""
    if not target or not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return HOME
    return target


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def locale_of(request: Request) -> str:
    """The language of the request's pages: the one chosen with the console's switch (its
    cookie, when it names a supported language), else the service's ``FLOWRISK_LOCALE``."""
    chosen = request.cookies.get(LOCALE_COOKIE, "")
    if chosen in SUPPORTED:
        return chosen
    default: str = request.app.state.config.locale
    return default


def current_user(request: Request) -> ConsoleUser:
    """The user of the request's live session, else a redirect to the sign-in form (which
    brings them back here). Runs in a worker thread: it reads the database."""
    token = request.cookies.get(COOKIE)
    try:
        session = sessions_of(request).find(token) if token else None
    except AuditUnavailable as exc:
        raise ConsoleRefused(503, "Service unavailable", str(exc)) from None
    if session is None or token is None:
        raise ConsoleRedirect(f"{SIGN_IN}?next={quote(_here(request), safe='')}")
    user = ConsoleUser(
        key_id=session.key_id,
        label=session.label,
        role=session.role,
        locale=locale_of(request),
        purpose=session.purpose,
        csrf=csrf_token(token),
        token=token,
    )
    request.state.console_user = user
    return user


SignedIn = Annotated[ConsoleUser, Depends(current_user)]


def require_role(role: str) -> Any:
    """A dependency admitting a signed-in user of ``role`` or a stronger one; a weaker one
    gets a 403 page, and the refusal its audit row."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def check(request: Request, user: SignedIn) -> ConsoleUser:
        if not user.has_role(role):
            audit_row(request, user, status=403, action="refused")
            raise ConsoleRefused(403, "Forbidden", f"this page is for the {role} role or above")
        return user

    return check


Viewer = Annotated[ConsoleUser, Depends(require_role("analyst"))]
Supervisor = Annotated[ConsoleUser, Depends(require_role("supervisor"))]
Admin = Annotated[ConsoleUser, Depends(require_role("admin"))]


async def check_csrf(request: Request, user: SignedIn) -> ConsoleUser:
    """A form's CSRF token must be the session's: else 403 (the form came from elsewhere, or
    from a session that has ended)."""
    import hmac

    import anyio.to_thread

    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given, user.csrf):
        await anyio.to_thread.run_sync(
            lambda: audit_row(request, user, status=403, action="csrf refused")
        )
        raise ConsoleRefused(403, "Form refused", "the form's security token is missing or stale")
    return user


CsrfChecked = Annotated[ConsoleUser, Depends(check_csrf)]


def purpose_set(request: Request, user: Viewer) -> str:
    """The case reference of the session; without one, a redirect to the form asking it."""
    if user.purpose is None:
        raise ConsoleRedirect(f"/ui/purpose?next={quote(_here(request), safe='')}")
    return user.purpose


PurposeSet = Annotated[str, Depends(purpose_set)]


def _store(request: Request) -> Store:
    store: Store = request.app.state.config.store
    return store


def audit_row(
    request: Request,
    user: ConsoleUser | None,
    *,
    status: int,
    action: str = "view",
    entity_id: str | None = None,
    detail: str | None = None,
    key_id: str | None = None,
) -> None:
    """Append one audit row for a console request, committed before this returns: the route
    (with its query), the user's key id and role, the purpose, the entity. The action and its
    detail are in ``actor`` (``console:<action> <detail>``) and in the request hash. An audit
    store that cannot commit refuses the page (503)."""
    query = request.url.query
    route = request.url.path + (f"?{query}" if query else "")
    said = {"method": request.method, "route": route, "action": action, "detail": detail}
    actor = f"console:{action}" + (f" {detail}" if detail else "")
    row = {
        "at": datetime.now(UTC),
        "key_id": user.key_id if user else key_id,
        "role": user.role if user else None,
        "actor": actor,
        "method": request.method,
        "route": route,
        "status": status,
        "entity_id": entity_id,
        "purpose": user.purpose if user else None,
        "request_hash": hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest(),
        "request_id": getattr(request.state, "request_id", None) or uuid.uuid4().hex,
    }
    try:
        _store(request).append([row])
    except AuditUnavailable as exc:
        raise ConsoleRefused(
            503, "Audit store unavailable", f"{exc}; the page is withheld"
        ) from None


def audit_view(
    request: Request,
    user: ConsoleUser,
    *,
    entity_id: str | None = None,
    action: str = "view",
    detail: str | None = None,
) -> None:
    """The one audit row of a page view (or a form's change), committed before the page is
    rendered; if it cannot be committed the page is not shown (503)."""
    audit_row(request, user, status=200, action=action, entity_id=entity_id, detail=detail)
