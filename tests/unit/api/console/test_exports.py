"""A case's files from its console page (real app, real SQLite store, the trained session world
and its model): the case report as PDF with the money network drawn, and the goAML report, the
same document ``flowrisk cases export`` builds, valid against the XSD; each download one audit
row, each refusal one too."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from pypdf import PdfReader

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.service import ModelHolder
from flowrisk.cases import Actor, Case, CaseStore
from flowrisk.features import build_profiles
from flowrisk.models.batch import explain_entities
from flowrisk.models.registry import Bundle
from flowrisk.models.scoring import DatasetSource, explain_entity
from flowrisk.reports.facts import entity_facts
from flowrisk.reports.goaml import goaml_xml, validate_goaml
from flowrisk.reports.goaml_build import case_goaml, evidence_transactions
from tests.conftest import TrainedWorld
from tests.unit.api.console.conftest import set_purpose, sign_in, write_run

PURPOSE = "case 2026-305"


@dataclass
class Site:
    config: ApiConfig
    cases: CaseStore
    key: str
    case: Case
    world: TrainedWorld

    def client(self, config: ApiConfig | None = None) -> TestClient:
        app = create_app(config or self.config)
        client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        assert sign_in(client, self.key).status_code == 303
        assert set_purpose(client, PURPOSE).status_code == 303
        return client

    def rows(self) -> list[dict[str, Any]]:
        return list(self.cases.audit.audit_rows())


def _suspect(t: TrainedWorld) -> str:
    """A laundering entity of the world whose explanation cites transactions."""
    guilty = t.labels.filter(pl.col("label") == 1)["entity_id"].head(30).to_list()
    profiles = build_profiles(t.frames, t.as_of, t.baselines, entities=guilty).collect()
    rows = explain_entities(t.frames, profiles, t.as_of, t.model, t.baselines)
    return str(next(r for r in rows.iter_rows(named=True) if evidence_transactions(r))["entity_id"])


@pytest.fixture(scope="module")
def site(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Site:
    t = trained_world
    home = tmp_path_factory.mktemp("case_exports")
    bundle = Bundle(model=t.model, baselines=t.baselines, uri="models:/flowrisk@champion",
                    version="3")  # fmt: skip
    holder = ModelHolder("models:/flowrisk@champion", lambda uri: (bundle, {}), lambda _: None)
    cases = CaseStore(f"sqlite:///{home / 'audit.db'}")
    entities = pl.read_parquet(t.folder / "entities.parquet")
    config = ApiConfig(
        store=cases.audit,
        cases=cases,
        holder=holder,
        dataset=DatasetSource(t.folder, t.as_of),
        scores=write_run(home / "scores", entities, t.folder),
        reporting_entity_id="FR-0042",
    )
    key = cases.audit.create_key("analyst", "Alice Martin")[1]
    entity = _suspect(t)
    case = cases.open(entity, Actor(name="Alice Martin"), note="top alert")
    case = cases.dispose(case.id, "confirmed_suspicious", Actor(name="Alice Martin"),
                         "cash split across branches")  # fmt: skip
    return Site(config, cases, key, case, t)


@pytest.fixture(scope="module")
def client(site: Site) -> Iterator[TestClient]:
    with site.client() as c:
        yield c


def _without_date(xml: bytes) -> bytes:
    return re.sub(rb"<submission_date>[^<]*</submission_date>", b"", xml)


def test_the_case_page_offers_both_downloads(site: Site, client: TestClient) -> None:
    page = client.get(f"/ui/cases/{site.case.id}")
    assert page.status_code == 200
    assert f'href="/ui/cases/{site.case.id}/report.pdf"' in page.text
    assert f'href="/ui/cases/{site.case.id}/goaml.xml"' in page.text
    assert "Case report (PDF)" in page.text and "goAML report (XML)" in page.text


def test_the_goaml_download_is_valid_and_the_command_line_s(site: Site, client: TestClient) -> None:
    before = len(site.rows())
    got = client.get(f"/ui/cases/{site.case.id}/goaml.xml")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/xml")
    assert got.headers["content-disposition"] == (
        f'attachment; filename="{site.case.id}-goaml.xml"'
    )
    validate_goaml(got.content)
    doc = etree.fromstring(got.content)
    assert doc.findtext("entity_reference") == site.case.id
    assert doc.findtext("rentity_id") == "FR-0042"
    # the builder `flowrisk cases export` uses, on the whole dataset: the same document
    t, entity = site.world, site.case.entity_id
    case = site.cases.get(site.case.id)
    row = explain_entity(t.frames, entity, t.as_of, t.model, t.baselines)
    facts = entity_facts(t.frames, entity, t.as_of)
    cli = goaml_xml(case_goaml(row, facts, case, reporting_entity="FR-0042"))
    assert _without_date(got.content) == _without_date(cli)
    rows = site.rows()[before:]
    assert [(r["entity_id"], r["purpose"], r["status"], r["actor"]) for r in rows] == [
        (entity, PURPOSE, 200, f"console:export goaml {site.case.id}")
    ]


def test_the_pdf_download_draws_the_network(site: Site, client: TestClient) -> None:
    before = len(site.rows())
    got = client.get(f"/ui/cases/{site.case.id}/report.pdf")
    assert got.status_code == 200, got.text[:500]
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        f'attachment; filename="{site.case.id}-report.pdf"'
    )
    assert got.content.startswith(b"%PDF-")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(got.content)).pages)
    assert site.case.id in text and "Alice Martin" in text and "Money network" in text
    rows = site.rows()[before:]
    assert [(r["entity_id"], r["status"], r["actor"]) for r in rows] == [
        (site.case.entity_id, 200, f"console:export pdf {site.case.id}")
    ]


def test_refusals_are_pages_and_audited(site: Site, client: TestClient) -> None:
    before = len(site.rows())
    got = client.get("/ui/cases/C-1999-0001/goaml.xml")
    assert got.status_code == 404 and "C-1999-0001" in got.text
    assert got.headers["content-type"].startswith("text/html")
    unset = dataclasses.replace(site.config, reporting_entity_id=None)
    with site.client(unset) as other:
        mid = len(site.rows())
        got = other.get(f"/ui/cases/{site.case.id}/goaml.xml")
        assert got.status_code == 503 and "FLOWRISK_REPORTING_ENTITY_ID" in got.text
        refused = site.rows()[mid:]
    rows = site.rows()[before : before + 1] + refused
    assert [(r["status"], r["actor"]) for r in rows] == [
        (404, "console:export refused"),
        (503, "console:export refused"),
    ]


def test_without_a_session_nothing_is_exported(site: Site) -> None:
    before = len(site.rows())
    app = create_app(site.config)
    with TestClient(app, base_url="https://testserver") as anonymous:
        got = anonymous.get(f"/ui/cases/{site.case.id}/goaml.xml", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/ui/sign-in")
    assert len(site.rows()) == before
