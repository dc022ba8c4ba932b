"""The console's case pages as an analyst uses them: open a case from a queue row, assign,
move, annotate and dismiss it through the forms, each change one audit row and each view one;
CSRF refused; the queue's case status filter and its "dismissed before" mark."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.console import CONSOLE_ROUTERS, cases
from flowrisk.cases import CaseStore
from flowrisk.models.scoring import DatasetSource
from tests.unit.api.console.conftest import (
    form_token,
    set_purpose,
    sign_in,
    stand_in_holder,
    write_run,
)


class Site:
    def __init__(self, client: TestClient, store: CaseStore) -> None:
        self.client, self.store = client, store

    def rows(self) -> list[dict[str, object]]:
        return list(self.store.audit.audit_rows())

    def post(self, path: str, page: str, **fields: str) -> object:
        data = {"csrf": form_token(page), **fields}
        return self.client.post(path, data=data, follow_redirects=False)


@pytest.fixture(scope="module")
def site(small_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("cases_console")
    store = CaseStore(f"sqlite:///{home / 'audit.db'}")
    entities = pl.read_parquet(small_world_dir / "entities.parquet")
    run = write_run(home / "scores", entities, small_world_dir)
    config = ApiConfig(
        store=store.audit,
        cases=store,
        holder=stand_in_holder(),
        dataset=DatasetSource(small_world_dir),
        scores=run,
    )
    key = store.audit.create_key("analyst", "ana")[1]
    app = create_app(config)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        sign_in(client, key)
        set_purpose(client, "case 2026-077")
        yield Site(client, store)


def test_the_router_is_part_of_the_console() -> None:
    assert cases.router in CONSOLE_ROUTERS


def test_a_case_opened_from_the_queue_annotated_and_dismissed(site: Site) -> None:
    queue = site.client.get("/ui/queue")
    assert queue.status_code == 200 and "open a case" in queue.text
    top = re.search(r'name="entity_id" value="([^"]+)"', queue.text)
    assert top is not None
    entity = top.group(1)
    before = len(site.rows())
    opened = site.post("/ui/cases", queue.text, entity_id=entity, run="2026-01-02", score="97.5",
                       band="critical")  # fmt: skip
    assert opened.status_code == 303  # type: ignore[attr-defined]
    where = opened.headers["location"]  # type: ignore[attr-defined]
    case_id = where.rsplit("/", 1)[-1]
    assert re.fullmatch(r"C-\d{4}-\d{4}", case_id)
    page = site.client.get(where)
    assert page.status_code == 200 and entity in page.text and "score 97.50" in page.text
    for path, fields in [
        ("note", {"text": "Cash deposits look split <b>on purpose</b>"}),
        ("assign", {"assignee": "alice"}),
        ("status", {"status": "in_review", "note": "taking it"}),
        ("disposition", {"reason_code": "false_positive", "note": "payroll explains it"}),
    ]:
        done = site.post(f"{where}/{path}", page.text, **fields)
        assert done.status_code == 303, path  # type: ignore[attr-defined]
    page = site.client.get(where)
    assert "closed it as dismissed (false positive)" in page.text
    assert "&lt;b&gt;on purpose&lt;/b&gt;" in page.text  # notes are escaped
    assert "Add note" not in page.text  # a closed case has no forms
    rows = site.rows()[before:]
    changes = [r for r in rows if r["method"] == "POST"]
    assert [str(r["route"]).rsplit(" ", 1)[-1] for r in changes] == [
        "open", "note", "assign", "status", "dispose",
    ]  # fmt: skip
    assert {r["purpose"] for r in changes} == {case_id}
    assert {r["entity_id"] for r in changes} == {entity} and {r["role"] for r in changes} == {
        "analyst"
    }
    views = [r for r in rows if r["method"] == "GET"]
    assert len(views) == 2 and all(r["entity_id"] == entity for r in views)
    statuses = site.client.get("/ui/queue?band=all&status=dismissed")
    assert entity in statuses.text and "dismissed before" in statuses.text
    listed = site.client.get("/ui/cases?status=dismissed")
    assert case_id in listed.text
    assert case_id not in site.client.get("/ui/cases?status=open").text


def test_refusals_are_pages_and_leave_no_change(site: Site) -> None:
    queue = site.client.get("/ui/queue")
    entity = re.findall(r'name="entity_id" value="([^"]+)"', queue.text)[1]
    opened = site.post("/ui/cases", queue.text, entity_id=entity)
    where = opened.headers["location"]  # type: ignore[attr-defined]
    page = site.client.get(where)
    again = site.post("/ui/cases", page.text, entity_id=entity)
    assert again.status_code == 400 and "already has open case" in again.text  # type: ignore[attr-defined]
    closing = site.post(f"{where}/status", page.text, status="reported")
    assert closing.status_code == 400 and "with a reason code" in closing.text  # type: ignore[attr-defined]
    forged = site.client.post(f"{where}/note", data={"csrf": "forged", "text": "x"})
    assert forged.status_code == 403
    assert site.client.get("/ui/cases?status=closed").status_code == 400
    assert site.client.get("/ui/cases/C-1999-0001").status_code == 404
    case = site.store.get(where.rsplit("/", 1)[-1])
    assert case.status == "open" and [e.kind for e in case.events] == ["opened"]
