"""Signing in and out of the console, and the case reference of a session.

``POST /ui/sign-in`` checks an API key as the API does (the same store, the same failure
limits per key id or client address) and opens a server-side session: a random token in a
cookie that scripts cannot read (HttpOnly), that other sites' requests do not carry
(SameSite=Strict), sent only over HTTPS or to a loopback address (Secure), on ``/ui`` only.
The sign-in form itself carries a token bound to a short-lived cookie, so no other site can
sign a browser in. Attempts, sign-outs and case references are audited; a wrong key leaves a
row naming the key id it claimed."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from flowrisk.api.console.auth import (
    COOKIE,
    HOME,
    LOCALE_COOKIE,
    SIGN_IN,
    ConsoleRedirect,
    ConsoleRefused,
    ConsoleUser,
    CsrfChecked,
    Viewer,
    audit_row,
    audit_view,
    current_user,
    locale_of,
    safe_next,
    sessions_of,
)
from flowrisk.api.console.pages import SECURITY_HEADERS, render
from flowrisk.api.console.strings import SUPPORTED, t
from flowrisk.api.deps import verify_key
from flowrisk.api.limits import AuthFailures, failure_bucket
from flowrisk.api.problems import ApiProblem
from flowrisk.audit.purpose import PURPOSE_MAX, check_purpose
from flowrisk.errors import AuditUnavailable, InvalidParameter

__all__ = ["router"]

router = APIRouter(tags=["console"], include_in_schema=False)
SIGN_IN_COOKIE = "flowrisk_sign_in"  # the sign-in form's own CSRF token (no session yet)
SIGN_IN_SECONDS = 600
LOCALE_SECONDS = 365 * 24 * 3600  # the language choice outlives sessions: a year


def _cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    secure: bool = request.app.state.config.secure_cookie
    response.set_cookie(
        name, value, max_age=seconds, path="/ui", secure=secure, httponly=True, samesite="strict"
    )


@router.get("/", include_in_schema=False)
@router.get("/ui", include_in_schema=False)
@router.get("/ui/", include_in_schema=False)
async def home() -> RedirectResponse:
    """The console's front door: the queue (which asks to sign in first when needed)."""
    return RedirectResponse(HOME, status_code=303)


def _sign_in_page(
    request: Request, next_: str, error: str | None = None, status: int = 200
) -> Response:
    form_token = secrets.token_urlsafe(24)
    context = {"next": safe_next(next_), "error": error, "form_token": form_token}
    response = render(request, "sign_in.html", context, status)
    _cookie(response, request, SIGN_IN_COOKIE, form_token, SIGN_IN_SECONDS)
    return response


@router.get(SIGN_IN)
async def sign_in_form(request: Request, next: str = HOME) -> Response:
    """The sign-in form (it shows no entity data, so it leaves no audit row)."""
    return _sign_in_page(request, next)


@router.post(SIGN_IN)
async def sign_in(
    request: Request,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=400)] = HOME,
) -> Response:
    """Check the key and open a session (303 to ``next``); a wrong key, a locked-out key id
    or a stale form shows the form again with why."""
    locale = locale_of(request)
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        return _sign_in_page(request, next, t("sign_in.stale", locale), 403)
    failures: AuthFailures = request.app.state.auth_failures
    bucket = failure_bucket(key, request.client.host if request.client else None)
    claimed = bucket.removeprefix("key:") if bucket.startswith("key:") else None
    wait = failures.retry_after(bucket)
    if wait is not None:
        await _audit(request, 429, "sign-in locked", claimed)
        return _sign_in_page(request, next, t("sign_in.locked", locale, seconds=wait), 429)
    state = request.app.state
    try:
        found = await verify_key(state.config.store, key, state.key_checkers) if key else None
    except ApiProblem as exc:
        raise ConsoleRefused(503, exc.title, exc.detail) from None
    if found is None:
        failures.failed(bucket)
        await _audit(request, 401, "sign-in refused", claimed)
        return _sign_in_page(request, next, t("sign_in.refused", locale), 401)
    sessions = sessions_of(request)
    previous = request.cookies.get(COOKIE)
    try:
        if previous:  # signing in again ends the browser's earlier session
            await anyio.to_thread.run_sync(sessions.end, previous)
        token = await anyio.to_thread.run_sync(sessions.open, found.key_id, found.role)
    except AuditUnavailable as exc:
        raise ConsoleRefused(503, "Service unavailable", str(exc)) from None
    await _audit(request, 303, "sign-in", found.key_id, found.role)
    response = RedirectResponse(safe_next(next), status_code=303, headers=SECURITY_HEADERS)
    _cookie(response, request, COOKIE, token, sessions.lifetime_seconds)
    response.delete_cookie(SIGN_IN_COOKIE, path="/ui")
    return response


async def _audit(
    request: Request, status: int, action: str, key_id: str | None, role: str | None = None
) -> None:
    """The audit row of a sign-in attempt (no session yet: the key id it claimed)."""
    user = ConsoleUser(key_id, "", role, "") if key_id and role else None
    await anyio.to_thread.run_sync(
        lambda: audit_row(request, user, status=status, action=action, key_id=key_id)
    )


@router.post("/ui/sign-out")
def sign_out(request: Request, user: CsrfChecked) -> Response:
    """End the session server-side and forget its cookie; back to the sign-in form."""
    try:
        sessions_of(request).end(user.token)
    except AuditUnavailable as exc:
        raise ConsoleRefused(503, "Service unavailable", str(exc)) from None
    audit_view(request, user, action="sign-out")
    response = RedirectResponse(SIGN_IN, status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path="/ui")
    return response


@router.get("/ui/purpose")
def purpose_form(request: Request, user: Viewer, next: str = HOME) -> Response:
    """Ask for the case reference the next look-ups are for."""
    audit_view(request, user)
    return render(request, "purpose.html", {"next": safe_next(next), "error": None, "value": ""})


@router.post("/ui/purpose")
def set_purpose(
    request: Request,
    user: CsrfChecked,
    _: Viewer,
    purpose: Annotated[str, Form(max_length=PURPOSE_MAX * 2)] = "",
    next: Annotated[str, Form(max_length=400)] = HOME,
) -> Response:
    """Keep the case reference in the session (checked by the shared purpose rule) and go
    on to ``next``; a refused one shows the form again, naming what is wrong."""
    min_length: int = request.app.state.config.purpose_min_length
    try:
        checked = check_purpose(purpose, min_length, "case reference")
    except InvalidParameter as exc:
        audit_row(request, user, status=400, action="purpose refused")
        context = {"next": safe_next(next), "error": str(exc), "value": purpose}
        return render(request, "purpose.html", context, 400)
    try:
        sessions_of(request).set_purpose(user.token, checked)
    except AuditUnavailable as exc:
        raise ConsoleRefused(503, "Service unavailable", str(exc)) from None
    from dataclasses import replace

    audit_view(request, replace(user, purpose=checked), action="purpose")
    return RedirectResponse(safe_next(next), status_code=303, headers=SECURITY_HEADERS)


def _signed_in(request: Request) -> ConsoleUser | None:
    """The user of the request's live session, or None (the sign-in page's switch)."""
    try:
        return current_user(request)
    except ConsoleRedirect:
        return None


@router.post("/ui/locale")
def choose_locale(
    request: Request,
    locale: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=400)] = HOME,
) -> Response:
    """Keep the language the analyst chose (a year-long cookie that scripts cannot read and
    other sites' requests do not carry) and go back to ``next``. The form's token is the
    session's CSRF token, or the sign-in form's before signing in; a change while signed in
    is audited; a language the console does not speak is refused, naming the choices."""
    user = _signed_in(request)
    expected = user.csrf if user else request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        if user:
            audit_row(request, user, status=403, action="csrf refused")
        raise ConsoleRefused(403, "Form refused", "the form's security token is missing or stale")
    if locale not in SUPPORTED:
        if user:
            audit_row(request, user, status=400, action="locale refused")
        shown = locale_of(request)
        detail = t("locale.refused", shown, value=locale, choices=", ".join(SUPPORTED))
        raise ConsoleRefused(400, "Language refused", detail)
    if user:
        audit_view(request, user, action="locale", detail=locale)
    response = RedirectResponse(safe_next(next), status_code=303, headers=SECURITY_HEADERS)
    _cookie(response, request, LOCALE_COOKIE, locale, LOCALE_SECONDS)
    return response
