"""Sign-in, sessions, CSRF, roles, the case reference and the audit row of every page view,
through the real app (TestClient) over a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.console.auth import COOKIE
from flowrisk.api.console.sessions import console_sessions, token_digest
from flowrisk.audit import Store
from tests.unit.api.console.conftest import (
    Console,
    form_token,
    set_purpose,
    sign_in,
    stand_in_holder,
)


def test_front_doors_lead_to_the_sign_in_form(fresh: Console) -> None:
    for path in ("/", "/ui", "/ui/queue", "/ui/search?q=x", "/ui/audit"):
        reply = fresh.client.get(path)
        assert reply.status_code == 200, path
        assert reply.url.path == "/ui/sign-in"
        assert 'name="key"' in reply.text


def test_sign_in_sets_a_secure_http_only_strict_cookie_and_a_hashed_session(
    fresh: Console,
) -> None:
    before = fresh.audit_count()
    reply = sign_in(fresh.client, fresh.keys["analyst"])
    assert reply.status_code == 303 and reply.headers["location"] == "/ui/queue"
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/ui"):
        assert attribute.lower() in cookie.lower(), attribute
    token = fresh.client.cookies[COOKIE]
    with fresh.store.engine.connect() as conn:
        stored = conn.execute(sa.select(console_sessions)).all()
    hashes = {row.token_hash for row in stored}
    assert token_digest(token) in hashes and token not in hashes
    row = fresh.last_rows(1)[0]
    assert fresh.audit_count() == before + 1
    assert row["actor"] == "console:sign-in" and row["role"] == "analyst" and row["status"] == 303


def test_a_wrong_key_is_refused_audited_and_locked_out_like_the_api(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/audit.db")  # an app of its own: its own lockouts
    key_id, key = store.create_key("analyst")
    wrong = f"frk_{key_id}_not-the-secret"
    app = create_app(ApiConfig(store=store, holder=stand_in_holder(), auth_failures_per_minute=2))
    with TestClient(app, base_url="https://testserver") as client:
        for _ in range(2):
            reply = sign_in(client, wrong)
            assert reply.status_code == 401 and "Unknown or revoked key" in reply.text
        locked = sign_in(client, key)  # the right key, but the key id is locked out
        assert locked.status_code == 429 and COOKIE not in client.cookies
    rows = list(store.audit_rows())[-3:]
    assert [r["status"] for r in rows] == [401, 401, 429]
    assert {r["key_id"] for r in rows} == {key_id}


def test_a_sign_in_form_from_elsewhere_is_refused(fresh: Console) -> None:
    reply = fresh.client.post(
        "/ui/sign-in", data={"key": fresh.keys["analyst"], "csrf": "forged"}, follow_redirects=False
    )
    assert reply.status_code == 403 and COOKIE not in fresh.client.cookies


def test_pages_with_entity_data_ask_for_the_case_reference_once(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    asked = fresh.client.get("/ui/queue", follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"].startswith("/ui/purpose?next=")
    refused = fresh.client.post(
        "/ui/purpose",
        data={"purpose": " x ", "csrf": form_token(fresh.client.get("/ui/purpose").text)},
    )
    assert refused.status_code == 400 and "case reference: must be at least" in refused.text
    assert set_purpose(fresh.client, "case 2026-041").status_code == 303
    before = fresh.audit_count()
    queue = fresh.client.get("/ui/queue?band=all", follow_redirects=False)
    assert queue.status_code == 200 and "case 2026-041" in queue.text
    assert fresh.audit_count() == before + 1  # one row per page view
    row = fresh.last_rows(1)[0]
    assert row["route"] == "/ui/queue?band=all" and row["purpose"] == "case 2026-041"
    assert row["method"] == "GET" and row["role"] == "analyst" and row["status"] == 200


def test_every_form_needs_the_session_csrf_token(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    before = fresh.audit_count()
    for data in ({}, {"csrf": "0" * 64}):
        reply = fresh.client.post("/ui/sign-out", data=data)
        assert reply.status_code == 403 and "security token" in reply.text
    assert fresh.audit_count() == before + 2
    assert fresh.client.get("/ui/purpose", follow_redirects=False).status_code == 200  # still in


def test_sign_out_ends_the_session_server_side(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    token = fresh.client.cookies[COOKIE]
    csrf = form_token(fresh.client.get("/ui/purpose").text)
    out = fresh.client.post("/ui/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/sign-in"
    fresh.client.cookies.set(COOKIE, token, path="/ui")  # a copy of the cookie opens nothing
    assert fresh.client.get("/ui/purpose", follow_redirects=False).status_code == 303
    assert fresh.last_rows(1)[0]["actor"] == "console:sign-out"


def test_a_revoked_key_or_an_expired_session_ends_it(fresh: Console) -> None:
    key_id, key = fresh.store.create_key("analyst", "leaving")
    sign_in(fresh.client, key)
    assert fresh.client.get("/ui/purpose", follow_redirects=False).status_code == 200
    fresh.store.revoke_key(key_id)
    assert fresh.client.get("/ui/purpose", follow_redirects=False).status_code == 303
    sign_in(fresh.client, fresh.keys["analyst"])
    digest = token_digest(fresh.client.cookies[COOKIE])
    with fresh.store.engine.begin() as conn:
        conn.execute(
            console_sessions.update()
            .where(console_sessions.c.token_hash == digest)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert fresh.client.get("/ui/purpose", follow_redirects=False).status_code == 303


def test_roles_analyst_below_supervisor_below_admin(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    before = fresh.audit_count()
    denied = fresh.client.get("/ui/audit")
    assert denied.status_code == 403 and "supervisor role" in denied.text
    assert 'href="/ui/audit"' not in denied.text  # no Audit entry in the analyst's menu
    assert fresh.audit_count() == before + 1
    assert fresh.last_rows(1)[0]["status"] == 403
    for role in ("supervisor", "admin"):
        fresh.client.cookies.clear()
        sign_in(fresh.client, fresh.keys[role])
        page = fresh.client.get("/ui/audit")
        assert page.status_code == 200 and 'href="/ui/audit"' in page.text
        assert "console:sign-in" in page.text


def test_pages_are_sent_uncached_and_unframed(fresh: Console) -> None:
    page = fresh.client.get("/ui/sign-in")
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert fresh.client.get("/ui/static/console.css").status_code == 200


def test_no_page_is_shown_when_its_audit_row_cannot_be_committed(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    set_purpose(fresh.client)
    store = fresh.store
    original = store.append

    def broken(rows: object) -> None:
        from flowrisk.errors import AuditUnavailable

        raise AuditUnavailable("audit store test: disk full")

    store.append = broken  # type: ignore[method-assign]
    try:
        reply = fresh.client.get("/ui/queue")
    finally:
        store.append = original  # type: ignore[method-assign]
    assert reply.status_code == 503 and "withheld" in reply.text
    assert "Alert queue" not in reply.text and "Many cash deposits" not in reply.text


def test_signing_in_again_ends_the_earlier_session(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    first = fresh.client.cookies[COOKIE]
    sign_in(fresh.client, fresh.keys["supervisor"])
    assert fresh.client.cookies[COOKIE] != first
    assert fresh.client.app.state.console_sessions.find(first) is None


def test_redirects_stay_inside_the_console(fresh: Console) -> None:
    reply = sign_in(fresh.client, fresh.keys["analyst"], next_="https://elsewhere.example/")
    assert reply.headers["location"] == "/ui/queue"


def test_audit_init_creates_the_sessions_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flowrisk.cli import app

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    done = CliRunner().invoke(app, ["audit", "init"], env={"FLOWRISK_DATABASE_URL": url})
    assert done.exit_code == 0, done.output
    with sa.create_engine(url).connect() as conn:
        assert "console_sessions" in sa.inspect(conn).get_table_names()
