"""The console as an analyst uses it: `flowrisk score` writes a run, `flowrisk serve --scores`
registers it, and a real headless Chromium signs in with a key from `flowrisk keys create`,
gives a case reference, opens the queue, filters it, opens the top alert's entity link,
searches, and signs out; an analyst is refused the supervisors' audit page; every page view
leaves exactly one audit row."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.console import LiveConsole
from tests.e2e.console import shot as _shot
from tests.e2e.console import sign_in as _sign_in

pytestmark = pytest.mark.slow


def test_sign_in_queue_filter_open_an_alert_and_sign_out(page: Any, live: LiveConsole) -> None:
    _sign_in(page, live, "analyst")
    _shot(page, "purpose")
    assert "/ui/purpose" in page.url  # the queue shows entity data: a case reference first
    page.fill("#purpose", "case E2E-2026-18")
    page.click("main button[type=submit]")
    assert page.url.endswith("/ui/queue")
    assert page.locator("h1").inner_text() == "Alert queue"
    rows = page.locator("table.queue tbody tr")
    assert rows.count() > 0
    scores = [float(s) for s in page.locator("table.queue tbody td:nth-child(5)").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["flowrisk_session"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it
    _shot(page, "queue")

    page.select_option("select[name=band]", "critical")
    page.click("form.filters button[type=submit]")
    assert "band=critical" in page.url
    bands = page.locator("table.queue tbody .badge").all_inner_texts()
    assert bands and {b.lower() for b in bands} == {"critical"}
    _shot(page, "queue-critical")

    top = page.locator("table.queue tbody tr").first.locator("td:nth-child(2) a")
    entity = top.inner_text()
    assert top.get_attribute("href") == f"/ui/entities/{entity}"
    top.click()
    assert page.url.endswith(f"/ui/entities/{entity}")  # the entity page's own route

    page.goto(f"{live.url}/ui/search?q={entity}")
    assert page.locator(f"a[href='/ui/entities/{entity}']").count() == 1
    _shot(page, "search")

    before = len(live.rows())
    page.goto(f"{live.url}/ui/queue")
    after = live.rows()
    assert len(after) == before + 1  # exactly one audit row for the page view
    view = after[-1]
    assert view["route"] == "/ui/queue" and view["purpose"] == "case E2E-2026-18"
    assert view["role"] == "analyst" and view["status"] == 200

    page.click("text=Sign out")
    assert page.url.startswith(f"{live.url}/ui/sign-in")
    assert live.rows()[-1]["actor"] == "console:sign-out"
    page.goto(f"{live.url}/ui/queue")
    assert page.url.startswith(f"{live.url}/ui/sign-in")  # the session is gone


def test_an_analyst_cannot_reach_the_supervisors_audit_page(page: Any, live: LiveConsole) -> None:
    _sign_in(page, live, "analyst")
    assert page.locator("nav a[href='/ui/audit']").count() == 0
    before = len(live.rows())
    reply = page.goto(f"{live.url}/ui/audit")
    assert reply.status == 403 and "Forbidden" in page.inner_text("h1")
    rows = live.rows()
    assert len(rows) == before + 1 and rows[-1]["status"] == 403
    _shot(page, "forbidden")
    page.context.clear_cookies()
    _sign_in(page, live, "supervisor")
    assert page.locator("nav a[href='/ui/audit']").count() == 1
    reply = page.goto(f"{live.url}/ui/audit")
    assert reply.status == 200 and page.locator("table.audit tbody tr").count() > 0
    _shot(page, "audit")
