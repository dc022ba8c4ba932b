"""A case in a real headless Chromium: an analyst opens a case from the queue's top alert,
adds a note, dismisses it with a reason code, and the queue then marks the entity dismissed
before; each change and each page view leaves one audit row."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.console import LiveConsole
from tests.e2e.console import shot as _shot
from tests.e2e.console import sign_in as _sign_in

pytestmark = pytest.mark.slow


def test_open_note_and_dismiss_a_case(page: Any, live: LiveConsole) -> None:
    _sign_in(page, live, "analyst")
    page.fill("#purpose", "case E2E-2026-19")
    page.click("main button[type=submit]")
    assert page.url.endswith("/ui/queue")
    first = page.locator("table.queue tbody tr").first
    entity = first.locator("td:nth-child(2) a").inner_text()
    before = len(live.rows())
    first.locator("form.open-case button").click()
    assert "/ui/cases/C-" in page.url
    case_id = page.url.rsplit("/", 1)[-1]
    assert page.locator("h1").inner_text() == f"Case {case_id}"
    assert entity in page.inner_text("dl.facts")
    page.fill("textarea[name=text]", "Deposits split across three branches in one week")
    page.click("text=Add note")
    assert "Deposits split across three branches" in page.inner_text("ol.timeline")
    page.select_option("select[name=reason_code]", "false_positive")
    page.fill("form[action$='/disposition'] input[name=note]", "payroll of a cash business")
    page.click("text=Close the case")
    timeline = page.inner_text("ol.timeline")
    assert "closed it as dismissed (false positive)" in timeline
    assert page.locator("textarea[name=text]").count() == 0  # closed: no more forms
    _shot(page, "case")
    rows = live.rows()[before:]
    changes = [r for r in rows if r["method"] == "POST"]
    assert [r["route"].rsplit(" ", 1)[-1] for r in changes] == ["open", "note", "dispose"]
    assert {r["purpose"] for r in changes} == {case_id}
    views = [r for r in rows if r["method"] == "GET"]
    assert len(views) == 3 and {r["entity_id"] for r in views} == {entity}  # after each change

    page.goto(f"{live.url}/ui/queue?band=all&status=dismissed")
    row = page.locator("table.queue tbody tr", has_text=entity)
    assert row.count() == 1 and "dismissed before" in row.inner_text()
    _shot(page, "queue-dismissed")
    page.goto(f"{live.url}/ui/cases?status=dismissed")
    assert page.locator(f"a[href='/ui/cases/{case_id}']").count() == 1
    _shot(page, "cases")
