"""The case report fit for a case file: counterparties, owners and the companies sharing an
owner named, the contribution chart in analyst words, reasons in contribution order, the case
reference, analyst and time with zone at its head, French as well as English, the money
network's slot, and a PDF that prints every evidence transaction with page numbers."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from pypdf import PdfReader

from flowrisk.features import build_profiles, catalog
from flowrisk.models.batch import explain_entities
from flowrisk.reports.case import case_report, case_report_pdf, entity_facts, report_network
from flowrisk.reports.chart import contribution_svg, in_contribution_order
from flowrisk.reports.network import Score
from flowrisk.reports.tables import named
from tests.conftest import TrainedWorld

AT = datetime(2026, 12, 3, 13, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def explained(trained_world: TrainedWorld) -> list[dict[str, Any]]:
    """Explanations of thirty laundering entities of the trained world."""
    t = trained_world
    guilty = t.labels.filter(pl.col("label") == 1)["entity_id"].head(30).to_list()
    profiles = build_profiles(t.frames, t.as_of, t.baselines, entities=guilty).collect()
    rows = explain_entities(t.frames, profiles, t.as_of, t.model, t.baselines)
    return list(rows.iter_rows(named=True))


def _with_transactions(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        r for r in rows if any(e.startswith("txn:") for f in r["red_flags"] for e in f["evidence"])
    )


def _page(t: TrainedWorld, row: dict[str, Any], locale: str = "en", **kw: Any) -> str:
    facts = entity_facts(t.frames, row["entity_id"], t.as_of)
    return case_report(
        row,
        facts,
        as_of=t.as_of,
        model="flowrisk@champion",
        locale=locale,
        case_reference="CASE-2026-0142",
        analyst="Alice Martin",
        generated_at=AT,
        **kw,
    )


def test_counterparties_and_owners_are_named(
    trained_world: TrainedWorld, explained: list[dict[str, Any]]
) -> None:
    t = trained_world
    row = _with_transactions(explained)
    facts = entity_facts(t.frames, row["entity_id"], t.as_of)
    page = _page(t, row)
    names = facts["names"]
    cps = facts["counterparties"]
    assert cps.height
    for cp in cps.iter_rows(named=True):
        if cp["cp_entity"]:
            assert cp["cp_entity"] in names  # every entity of the world has a name
            assert html.escape(named(cp["cp_entity"], names)) in page
        elif cp["cp_account"]:
            assert f"external account {cp['cp_account']}" in page
    for link in facts["ownership"].iter_rows(named=True):
        assert html.escape(named(link["owner_entity_id"], names)) in page
        assert html.escape(named(link["owned_entity_id"], names)) in page


def test_the_companies_sharing_an_owner_are_the_ones_the_feature_counts(
    trained_world: TrainedWorld,
) -> None:
    t = trained_world
    profiles = build_profiles(t.frames, t.as_of, t.baselines).collect()
    sharing = profiles.filter(pl.col("net_shared_owner_companies") >= 2).head(3)
    assert sharing.height, "the world has companies sharing owners"
    for entity_id, count in sharing.select("entity_id", "net_shared_owner_companies").rows():
        facts = entity_facts(t.frames, entity_id, t.as_of)
        siblings = facts["siblings"]["company"].unique()
        assert siblings.len() == count
        assert all(c in facts["names"] for c in siblings)


def test_the_chart_speaks_in_catalog_words_and_formatted_amounts(
    explained: list[dict[str, Any]],
) -> None:
    descriptions = {f.name: f.description for f in catalog()}
    for row in explained[:10]:
        for locale in ("en", "fr"):
            svg = contribution_svg(row["reasons"], locale)
            assert not re.search(r"\de[+-]\d", svg), "a number in scientific notation"
            for reason in row["reasons"]:
                assert reason["feature"] not in svg
                assert html.escape(descriptions[reason["feature"]][:40]) in svg


def test_reasons_are_listed_in_contribution_order(
    trained_world: TrainedWorld, explained: list[dict[str, Any]]
) -> None:
    row = max(explained, key=lambda r: len(r["reasons"]))
    ordered = in_contribution_order(row["reasons"])
    raised = [r["contribution"] for r in ordered if r["direction"] == "raises"]
    assert raised == sorted(raised, reverse=True)
    assert [r["direction"] for r in ordered] == sorted(
        (r["direction"] for r in ordered), key=lambda d: d != "raises"
    )
    page = _page(trained_world, row)
    table = page[page.index("<h2>Reasons</h2>") :]
    where = [table.index(f"<td>{html.escape(r['text'])}") for r in ordered]
    assert where == sorted(where)


def test_the_head_names_the_case_the_analyst_and_the_time_with_its_zone(
    trained_world: TrainedWorld, explained: list[dict[str, Any]]
) -> None:
    row = _with_transactions(explained)
    english = _page(trained_world, row)
    for text in ("CASE-2026-0142", "Alice Martin", "3 Dec 2026, 13:05 UTC", "counter(pages)"):
        assert text in english
    assert "<details" not in english  # nothing folded: a printed page keeps every row
    assert "@media print" in english
    french = _page(trained_world, row, "fr")
    assert '<html lang="fr">' in french and "Référence du dossier" in french
    assert "3 déc. 2026, 14:05 CET" in french and '"Page " counter(page) " sur "' in french
    assert re.search(r"\d[\u202f\xa0]?\d{3},\d\d\xa0€", french), "no amount written as in French"
    assert html.escape("Signaux d'alerte") in french and "Red flags" not in french


def test_the_money_network_is_drawn_where_given(
    trained_world: TrainedWorld, explained: list[dict[str, Any]]
) -> None:
    row = explained[0]
    drawn = _page(trained_world, row, network_svg='<svg id="network"></svg>')
    assert '<h2>Money network</h2><svg id="network"></svg>' in drawn
    assert "Money network" not in _page(trained_world, row)


def test_the_report_draws_the_entity_s_money_network_without_links(
    trained_world: TrainedWorld, explained: list[dict[str, Any]]
) -> None:
    t, row = trained_world, _with_transactions(explained)
    asked: list[str] = []

    def scores_of(ids: list[str]) -> dict[str, Score]:
        asked.extend(ids)
        return {ids[0]: Score("critical", 97.5)}

    svg = report_network(t.frames, row, t.as_of, "en", scores_of)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'class="network"' in svg
    assert "<a " not in svg and "/ui/entities/" not in svg  # printed: nothing to click
    assert asked and row["entity_id"] not in asked  # the entity's own band is the row's
    name = t.frames["entities"].filter(pl.col("entity_id") == row["entity_id"]).collect()["name"]
    assert html.escape(str(name[0])) in svg and report_network(t.frames, row, t.as_of) != svg
    page = _page(t, row, network_svg=svg)
    assert f"<h2>Money network</h2>{svg}" in page
    pdf = PdfReader(io.BytesIO(case_report_pdf(page)))
    assert any("Money network" in p.extract_text() for p in pdf.pages)


def test_the_pdf_prints_every_evidence_transaction_with_page_numbers(
    trained_world: TrainedWorld, explained: list[dict[str, Any]]
) -> None:
    row = _with_transactions(explained)
    pdf = case_report_pdf(_page(trained_world, row))
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    pages = [p.extract_text() for p in reader.pages]
    text = "\n".join(pages)
    ids = {
        e.removeprefix("txn:")
        for item in [*row["red_flags"], *row["reasons"]]
        for e in item["evidence"]
        if e.startswith("txn:")
    }
    assert ids
    words = set(re.findall(r"\d+", text))
    assert ids <= words, sorted(ids - words)[:5]
    n = len(pages)
    for i, page in enumerate(pages, 1):
        assert f"Page {i} of {n}" in page
        assert "CASE-2026-0142" in page
