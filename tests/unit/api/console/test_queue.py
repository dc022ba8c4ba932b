"""The alert queue of a registered run and entity search: pure filters and pages, then the
pages as an analyst gets them."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.console.alerts import PAGE_SIZE, AlertQueue, QueueFilters, search_entities
from flowrisk.audit import Store
from flowrisk.errors import InvalidParameter
from tests.unit.api.console.conftest import TAGS, Console, set_purpose, sign_in, stand_in_holder


@pytest.fixture(scope="module")
def queue(console: Console) -> AlertQueue:
    return AlertQueue.load(console.run, console.entities.select("entity_id", "name"))


def test_the_queue_ranks_by_score_and_keeps_alerts_by_default(queue: AlertQueue) -> None:
    page = queue.page(QueueFilters())
    scores = [row["score"] for row in page.rows]
    assert scores == sorted(scores, reverse=True) and len(page.rows) == PAGE_SIZE
    alerts = queue.frame.filter(pl.col("band").is_in(["high", "critical"]))
    assert page.total == alerts.height
    assert {row["band"] for row in page.rows} <= {"high", "critical"}
    assert [row["rank"] for row in page.rows] == list(range(1, PAGE_SIZE + 1))
    assert all(row["name"] for row in page.rows)


def test_filters_by_band_typology_entity_type_and_case_status(queue: AlertQueue) -> None:
    critical = queue.page(QueueFilters(band="critical"))
    assert critical.total and {r["band"] for r in critical.rows} == {"critical"}
    mule = queue.page(QueueFilters(band="all", typology="mule", entity_type="company"))
    assert mule.total
    assert all("mule" in r["tags"] and r["entity_type"] == "company" for r in mule.rows)
    assert queue.typologies == sorted(TAGS)
    top = queue.page(QueueFilters()).rows[:3]
    statuses = {top[0]["entity_id"]: "dismissed", top[2]["entity_id"]: "open"}
    dismissed = queue.page(QueueFilters(status="dismissed"), statuses)
    assert [r["entity_id"] for r in dismissed.rows] == [top[0]["entity_id"]]
    marked = queue.page(QueueFilters(), statuses).rows[:3]
    assert [r["case_status"] for r in marked] == ["dismissed", None, "open"]


def test_pages_cover_the_matches_once(queue: AlertQueue) -> None:
    first = queue.page(QueueFilters(band="all"))
    assert first.pages == -(-queue.frame.height // PAGE_SIZE)
    seen = [r["entity_id"] for p in range(1, first.pages + 1)
            for r in queue.page(QueueFilters(band="all", page=p)).rows]  # fmt: skip
    assert len(seen) == len(set(seen)) == queue.frame.height
    past = queue.page(QueueFilters(band="all", page=first.pages + 1))
    assert past.rows == [] and past.first == 0


def test_a_filter_naming_nothing_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="band"):
        QueueFilters(band="severe").check()


def test_search_by_id_prefix_and_name(console: Console) -> None:
    entities = console.entities
    some = entities.row(7, named=True)
    found, total = search_entities(entities, some["entity_id"])
    assert found[0]["entity_id"] == some["entity_id"]
    word = some["name"].split()[-1]
    found, total = search_entities(entities, word.upper(), limit=5)
    assert len(found) <= 5 and total >= 1
    assert all(word.lower() in r["name"].lower() or r["entity_id"].startswith(word.upper())
               for r in found)  # fmt: skip
    assert search_entities(entities, "   ") == ([], 0)
    assert search_entities(entities, ".*")[1] == 0  # literal text, not a pattern


def test_the_queue_page_filters_pages_and_links_each_entity(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    set_purpose(fresh.client)
    page = fresh.client.get("/ui/queue?band=all&typology=crypto&page=2")
    assert page.status_code == 200
    links = re.findall(r'href="/ui/entities/([^"]+)"', page.text)
    assert len(links) == PAGE_SIZE
    assert 'rel="prev"' in page.text and "page=3" in page.text
    assert 'class="badge band-' in page.text and "crypto" in page.text
    assert 'href="/ui/queue?band=critical"' in page.text  # the run's count per band
    bad = fresh.client.get("/ui/queue?band=severe")
    assert bad.status_code == 400 and "band: must be alerts" in bad.text
    assert fresh.last_rows(1)[0]["status"] == 400
    not_a_number = fresh.client.get("/ui/queue?page=x")
    assert not_a_number.status_code == 422 and "text/html" in not_a_number.headers["content-type"]


def test_the_search_page_finds_entities_and_audits_the_query(fresh: Console) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    set_purpose(fresh.client, "case 2026-077")
    some = fresh.entities.row(3, named=True)
    before = fresh.audit_count()
    page = fresh.client.get("/ui/search", params={"q": some["entity_id"]})
    assert page.status_code == 200 and f"/ui/entities/{some['entity_id']}" in page.text
    assert some["name"] in page.text and "1 entity matches" in page.text
    row = fresh.last_rows(1)[0]
    assert fresh.audit_count() == before + 1
    assert row["route"] == f"/ui/search?q={some['entity_id']}" and row["purpose"] == "case 2026-077"
    assert "No entity matches" in fresh.client.get("/ui/search?q=zz-nobody-zz").text


def test_a_console_path_naming_no_page_is_an_html_page_and_the_api_keeps_problems(
    fresh: Console,
) -> None:
    sign_in(fresh.client, fresh.keys["analyst"])
    page = fresh.client.get("/ui/no-such-page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "Back to the queue" in page.text
    api = fresh.client.get("/v1/no-such-route")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    bad = fresh.client.get("/v1/entities/E1/score?explain=maybe", headers={"X-API-Key": "x"})
    assert bad.headers["content-type"] == "application/problem+json"


def test_without_a_run_or_a_dataset_the_pages_say_how_to_register_them(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'audit.db'}")
    _, key = store.create_key("analyst")
    app = create_app(ApiConfig(store=store, holder=stand_in_holder()))
    with TestClient(app, base_url="https://testserver") as client:
        sign_in(client, key)
        set_purpose(client)
        assert "flowrisk serve --scores DIR" in client.get("/ui/queue").text
        assert "started without a dataset" in client.get("/ui/search?q=E1").text
