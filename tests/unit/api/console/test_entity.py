"""The entity page as the console serves it (real app, real SQLite store, the trained session
world and its model): the score, the evidence and the network for an analyst, one audit row
per view with the case reference, the lookup history for supervisors only, and refusals as
HTML pages that are audited too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.service import ModelHolder
from flowrisk.audit import Store
from flowrisk.models.registry import Bundle
from flowrisk.models.scoring import DatasetSource
from tests.conftest import TrainedWorld
from tests.unit.api.console.conftest import set_purpose, sign_in, write_run


@dataclass
class Page:
    app: Any
    store: Store
    keys: dict[str, str]
    entity: str  # a laundering entity of the world
    world: TrainedWorld

    def client(self, role: str | None = None, purpose: str = "case 2026-118") -> TestClient:
        client = TestClient(self.app, base_url="https://testserver", raise_server_exceptions=False)
        if role:
            assert sign_in(client, self.keys[role]).status_code == 303
            assert set_purpose(client, purpose).status_code == 303
        return client

    def rows(self) -> list[dict[str, Any]]:
        return list(self.store.audit_rows())


@pytest.fixture(scope="module")
def served(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    t = trained_world
    home = tmp_path_factory.mktemp("entity_page")
    bundle = Bundle(
        model=t.model, baselines=t.baselines, uri="models:/flowrisk@champion", version="3"
    )
    holder = ModelHolder("models:/flowrisk@champion", lambda uri: (bundle, {}), lambda _: None)
    store = Store(f"sqlite:///{home / 'audit.db'}")
    entities = pl.read_parquet(t.folder / "entities.parquet")
    run = write_run(home / "scores", entities, t.folder)
    config = ApiConfig(
        store=store, holder=holder, dataset=DatasetSource(t.folder, t.as_of), scores=run
    )
    keys = {role: store.create_key(role, f"test {role}")[1] for role in ("analyst", "supervisor")}
    entity = str(t.labels.filter(pl.col("label") == 1)["entity_id"][0])
    yield Page(create_app(config), store, keys, entity, t)


def test_an_analyst_sees_the_score_the_evidence_and_the_network(served: Page) -> None:
    client = served.client("analyst")
    before = len(served.rows())
    page = client.get(f"/ui/entities/{served.entity}")
    assert page.status_code == 200, page.text
    html = page.text
    name = (
        served.world.frames["entities"]
        .filter(pl.col("entity_id") == served.entity)
        .collect()["name"][0]
    )
    assert f"<h1>{name}</h1>" in html and 'class="badge band-' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="network"' in html
    links = set(re.findall(r'<a href="/ui/entities/([^"]+)"><g class="node', html))
    assert len(links) > 1 and served.entity in links
    assert 'id="history"' not in html  # the lookup history is for supervisors
    assert (
        "<script" not in html
        and "Cache-Control" in page.headers
        and page.headers["Cache-Control"] == "no-store"
    )
    rows = served.rows()[before:]
    assert len(rows) == 1
    assert (rows[0]["entity_id"], rows[0]["purpose"], rows[0]["status"]) == (
        served.entity,
        "case 2026-118",
        200,
    )


def test_a_supervisor_sees_who_looked_the_entity_up(served: Page) -> None:
    served.client("analyst", "case 2026-201").get(f"/ui/entities/{served.entity}")
    page = served.client("supervisor", "audit 2026-7").get(f"/ui/entities/{served.entity}")
    assert page.status_code == 200
    history = page.text.split('id="history"', 1)[1]
    assert "case 2026-201" in history and "audit 2026-7" in history  # this view is in it too


def test_an_unknown_entity_is_a_404_page_and_audited(served: Page) -> None:
    client = served.client("analyst")
    before = len(served.rows())
    page = client.get("/ui/entities/E-NO-SUCH")
    assert page.status_code == 404 and "E-NO-SUCH" in page.text
    assert page.headers["content-type"].startswith("text/html")
    rows = served.rows()[before:]
    assert [(r["entity_id"], r["status"]) for r in rows] == [("E-NO-SUCH", 404)]


def test_without_a_session_the_page_sends_to_sign_in(served: Page) -> None:
    before = len(served.rows())
    page = served.client().get(f"/ui/entities/{served.entity}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/sign-in?next=")
    assert len(served.rows()) == before  # nothing shown, nothing looked up


def test_a_case_opens_from_the_entity_page_with_its_alert_then_the_page_links_to_it(
    served: Page,
) -> None:
    client = served.client("analyst")
    entity = str(served.world.labels["entity_id"][3])  # no other test opens a case on it
    html = client.get(f"/ui/entities/{entity}").text
    form = re.search(
        r'<form method="post" action="/ui/cases" class="inline open-case">(.*?)</form>', html, re.S
    )
    assert form, "the entity page offers to open a case"
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)))
    assert fields["entity_id"] == entity and fields["run"] and fields["band"]
    opened = client.post("/ui/cases", data=fields, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    case_id = opened.headers["location"].rsplit("/", 1)[-1]
    case = client.get(f"/ui/cases/{case_id}").text
    assert f"score {float(fields['score']):.2f}, {fields['band']}" in case  # the alert kept
    again = client.get(f"/ui/entities/{entity}").text
    assert f'<a href="/ui/cases/{case_id}">Case {case_id}</a>' in again
    assert 'class="inline open-case"' not in again  # a case in progress: a link
