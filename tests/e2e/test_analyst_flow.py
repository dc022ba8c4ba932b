"""The analyst's whole flow in a real headless Chromium against one real `flowrisk serve`:
sign in, give the case reference, open the queue, filter it by band, open the top alert, see
its money network, open a case from it, add a note, dismiss it with a reason code, export the
case PDF and the goAML XML (valid against the shipped XSD), sign out; an analyst is refused
the supervisors' audit page, a supervisor reaches it. Afterwards the audit store holds exactly
one row per page view and per case change, in the story's order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import flowrisk.reports
from tests.e2e.console import REPORTING_ENTITY, LiveConsole, shot, sign_in

pytestmark = pytest.mark.slow
PURPOSE = "case E2E-2026-FLOW"
XSD = Path(flowrisk.reports.__file__).parent / "goaml.xsd"


def _step(row: dict[str, Any]) -> tuple[str, str, str, int]:
    """What an audit row says happened: method, route (case ids and entity ids as
    placeholders), the console action, status."""
    route = re.sub(r"C-\d{4}-\d+", "{case}", str(row["route"]))
    if row["entity_id"]:
        route = route.replace(str(row["entity_id"]), "{entity}")
    actor = str(row["actor"] or "")
    action = actor.removeprefix("console:").split(" ", 1)[0] if actor.startswith("console:") else ""
    return row["method"], route, action, row["status"]


def _case_steps(case: str, change: str) -> list[tuple[str, str, str, int]]:
    """A case change's two rows: the change (written by the case store) and the case page
    the browser is sent back to."""
    return [
        ("POST", f"/ui/cases {{case}} {change}", "", 200),
        ("GET", "/ui/cases/{case}", "view", 200),
    ]


def _download(page: Any, link: str, filename: str) -> bytes:
    """Click a download link of the page; the file the browser saved, named ``filename``."""
    with page.expect_download(timeout=120_000) as started:
        page.click(f"text={link}")
    download = started.value
    assert download.suggested_filename == filename
    return Path(download.path()).read_bytes()


def test_the_analysts_whole_flow_leaves_one_audit_row_per_view_and_change(
    page: Any, live: LiveConsole
) -> None:
    before = len(live.rows())
    sign_in(page, live, "analyst")
    assert "/ui/purpose" in page.url
    page.fill("#purpose", PURPOSE)
    page.click("main button[type=submit]")
    assert page.url.endswith("/ui/queue") and page.locator("table.queue tbody tr").count() > 0

    page.select_option("select[name=band]", "critical")
    page.click("form.filters button[type=submit]")
    assert "band=critical" in page.url
    bands = page.locator("table.queue tbody .badge").all_inner_texts()
    assert bands and {b.lower() for b in bands} == {"critical"}
    top = page.locator("table.queue tbody tr").first.locator("td:nth-child(2) a")
    entity = top.inner_text()
    top.click()
    assert page.url.endswith(f"/ui/entities/{entity}")
    name = page.inner_text("main .entity-head h1")
    network = page.locator("#network svg.network")
    assert network.is_visible()
    assert page.locator("#network svg g.node.centre").get_attribute("data-id") == entity
    assert page.locator("#network svg g.node:not(.centre)").count() > 0
    shot(page, "flow-entity")

    page.click("form.open-case button")
    assert "/ui/cases/C-" in page.url
    case = page.url.rsplit("/", 1)[-1]
    assert entity in page.inner_text("dl.facts")
    assert "critical" in page.inner_text("dl.facts")  # the alert it was opened from
    page.fill("textarea[name=text]", "Cash deposits just under the threshold at four branches")
    page.click("text=Add note")
    assert "four branches" in page.inner_text("ol.timeline")
    page.select_option("select[name=reason_code]", "false_positive")
    page.fill("form[action$='/disposition'] input[name=note]", "the takings of a bakery")
    page.click("text=Close the case")
    assert "closed it as dismissed (false positive)" in page.inner_text("ol.timeline")
    shot(page, "flow-case")
    pdf = _download(page, "Case report (PDF)", f"{case}-report.pdf")
    assert pdf.startswith(b"%PDF-")
    xml = _download(page, "goAML report (XML)", f"{case}-goaml.xml")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    report = etree.fromstring(xml)
    assert schema.validate(report), schema.error_log
    assert report.findtext(".//rentity_id") == REPORTING_ENTITY
    assert report.findtext("entity_reference") == case
    assert all(part in xml.decode() for part in name.split())  # the entity, named
    assert "the takings of a bakery" in str(report.findtext("reason"))  # the disposition

    refused = page.goto(f"{live.url}/ui/audit")
    assert refused.status == 403 and "Forbidden" in page.inner_text("h1")
    page.click("text=Sign out")
    assert page.url.startswith(f"{live.url}/ui/sign-in")

    sign_in(page, live, "supervisor", start="/ui/audit")
    assert page.url.endswith("/ui/audit")
    assert page.locator("table.audit tbody tr").count() > 0
    shot(page, "flow-audit")

    rows = live.rows()[before:]
    steps = [_step(r) for r in rows]
    assert steps == [
        ("POST", "/ui/sign-in", "sign-in", 303),
        ("GET", "/ui/purpose?next=%2Fui%2Fqueue", "view", 200),
        ("POST", "/ui/purpose", "purpose", 200),
        ("GET", "/ui/queue", "view", 200),
        ("GET", "/ui/queue?band=critical&typology=&entity_type=&status=", "view", 200),
        ("GET", "/ui/entities/{entity}", "view", 200),
        *_case_steps(case, "open"),
        *_case_steps(case, "note"),
        *_case_steps(case, "dispose"),
        ("GET", "/ui/cases/{case}/report.pdf", "export", 200),
        ("GET", "/ui/cases/{case}/goaml.xml", "export", 200),
        ("GET", "/ui/audit", "refused", 403),
        ("POST", "/ui/sign-out", "sign-out", 200),
        ("POST", "/ui/sign-in", "sign-in", 303),
        ("GET", "/ui/audit", "view", 200),
    ], steps
    assert [r["role"] for r in rows] == ["analyst"] * (len(rows) - 2) + ["supervisor"] * 2
    case_rows = [r for r in rows if "/ui/cases" in r["route"]]
    assert {r["entity_id"] for r in case_rows} == {entity}
    changes = [r for r in case_rows if r["method"] == "POST"]
    assert {r["purpose"] for r in changes} == {case}  # a change is filed under its case
    views = [r for r in rows if r["method"] == "GET" and r["role"] == "analyst"]
    assert {r["purpose"] for r in views[1:]} == {PURPOSE}  # every look-up with its reference
