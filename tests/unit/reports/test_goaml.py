"""The goAML export: a report built from an entity of a world holds its evidence transactions
between named parties, in goAML's element names and order, and validates against the XSD
shipped in the package; a broken one is refused naming the element, and nothing is written."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree

from flowrisk.cases import Case, CaseEvent
from flowrisk.errors import ConfigError, InvalidParameter
from flowrisk.features import build_profiles
from flowrisk.models.batch import explain_entities
from flowrisk.reports.case import entity_facts
from flowrisk.reports.goaml import GoamlReport, goaml_xml, validate_goaml, write_goaml
from flowrisk.reports.goaml_build import (
    FALLBACK_TRANSACTIONS,
    REASON_CHARS,
    case_analyst,
    case_goaml,
    evidence_transactions,
    goaml_report,
    reporting_entity,
)
from tests.conftest import TrainedWorld

ORDER = [
    "rentity_id",
    "submission_code",
    "report_code",
    "entity_reference",
    "submission_date",
    "currency_code_local",
    "reporting_person",
    "reason",
    "action",
    "transaction",
    "report_indicators",
]


@pytest.fixture(scope="module")
def built(trained_world: TrainedWorld) -> tuple[dict[str, Any], dict[str, Any], GoamlReport]:
    """The report of the first laundering entity whose red flags cite transactions."""
    t = trained_world
    guilty = t.labels.filter(pl.col("label") == 1)["entity_id"].head(30).to_list()
    profiles = build_profiles(t.frames, t.as_of, t.baselines, entities=guilty).collect()
    rows = explain_entities(t.frames, profiles, t.as_of, t.model, t.baselines)
    row = next(r for r in rows.iter_rows(named=True) if evidence_transactions(r))
    facts = entity_facts(t.frames, row["entity_id"], t.as_of)
    report = goaml_report(
        row,
        facts,
        reporting_entity="FR-0042",
        case_reference="CASE-2026-0142",
        analyst="Alice Martin",
        submitted_at=datetime(2026, 12, 3, 13, 5, tzinfo=UTC),
    )
    return row, facts, report


def test_the_report_of_a_world_entity_validates_and_holds_its_evidence(
    built: tuple[dict[str, Any], dict[str, Any], GoamlReport], tmp_path: Path
) -> None:
    row, facts, report = built
    xml = goaml_xml(report)
    validate_goaml(xml)
    root = etree.fromstring(xml)
    assert [c.tag for c in root if c.tag != "transaction"] == [
        o for o in ORDER if o != "transaction"
    ]
    numbers = [int(n) for n in root.xpath("/report/transaction/transactionnumber/text()")]
    assert sorted(numbers) == evidence_transactions(row)
    assert root.findtext("entity_reference") == "CASE-2026-0142"
    assert root.findtext("reporting_person/last_name") == "Martin"
    assert root.findtext("submission_date") == "2026-12-03T13:05:00"
    entity = facts["entity"]
    holder = root.xpath("//t_entity/name/text() | //signatory/t_person/last_name/text()")
    assert (entity["name"] in holder) or (entity["name"].rsplit(" ", 1)[-1] in holder)
    named = {p.name for p in report.parties}
    for cp in facts["legs"].filter(pl.col("txn_id").is_in(numbers))["cp_entity"].drop_nulls():
        assert facts["names"][cp] in named
    flags = {f["flag"] for f in row["red_flags"]}
    assert flags <= set(root.xpath("/report/report_indicators/indicator/text()"))
    out = write_goaml(report, tmp_path / "cases" / "str.xml")
    assert out.read_bytes() == xml and [p.name for p in out.parent.iterdir()] == ["str.xml"]


def _broken_amount(report: GoamlReport) -> GoamlReport:
    first = dataclasses.replace(report.transactions[0], amount=-5.0)
    return dataclasses.replace(report, transactions=(first, *report.transactions[1:]))


@pytest.mark.parametrize(
    ("breaks", "element"),
    [
        (_broken_amount, "amount_local"),
        (lambda r: dataclasses.replace(r, reason=""), "reason"),
        (lambda r: dataclasses.replace(r, report_code="XYZ"), "report_code"),
        (lambda r: dataclasses.replace(r, currency="euro"), "currency_code_local"),
        (lambda r: dataclasses.replace(r, transactions=()), "report_indicators"),
    ],
)
def test_a_broken_report_is_refused_naming_the_element(
    built: tuple[dict[str, Any], dict[str, Any], GoamlReport],
    breaks: Any,
    element: str,
    tmp_path: Path,
) -> None:
    broken = breaks(built[2])
    with pytest.raises(InvalidParameter, match=rf"goaml\.{element}: .*Element '{element}'"):
        validate_goaml(goaml_xml(broken))
    target = tmp_path / "str.xml"
    target.write_bytes(b"the previous export")
    with pytest.raises(InvalidParameter, match=element):
        write_goaml(broken, target)
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["str.xml"]


def test_a_document_that_is_not_xml_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="goaml: not well-formed XML"):
        validate_goaml(b"<report><rentity_id>")


def test_the_schema_ships_with_the_package() -> None:
    xsd = resources.files("flowrisk.reports").joinpath("goaml.xsd")
    assert xsd.is_file() and b'<xs:element name="report">' in xsd.read_bytes()


def _case(status: str = "in_review", **kw: Any) -> Case:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    return Case(id="C-2026-0007", entity_id="E1", opened_by="cli:bob", opened_at=at,
                status=status, **kw)  # fmt: skip


def test_a_case_s_report_names_who_holds_it_and_its_disposition(
    built: tuple[dict[str, Any], dict[str, Any], GoamlReport],
) -> None:
    row, facts, _ = built
    held = case_goaml(row, facts, _case(assignee="Alice Martin"), reporting_entity="FR-0042")
    assert held.analyst == "Alice Martin" and held.case_reference == "C-2026-0007"
    assert held.reason.startswith("Case C-2026-0007: in review. Grounds: ")
    assert case_analyst(_case()) == "cli:bob"  # nobody assigned: whoever opened it
    decided = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    closing = CaseEvent("disposition", "Carol Roy", decided, "Cash split across branches",
                        "in_review", "reported", reason_code="confirmed_suspicious")  # fmt: skip
    closed = _case("reported", assignee="Alice Martin", reason_code="confirmed_suspicious",
                   decided_at=decided, events=(closing,))  # fmt: skip
    report = case_goaml(row, facts, closed, reporting_entity="FR-0042")
    assert report.analyst == "Carol Roy"  # the analyst who closed it answers for it
    assert report.reason.startswith(
        "Case C-2026-0007: reported (confirmed suspicious, 2026-12-02). "
        "Analyst's note: Cash split across branches. Grounds: "
    )
    validate_goaml(goaml_xml(report))


def test_without_cited_transactions_the_largest_are_reported(
    built: tuple[dict[str, Any], dict[str, Any], GoamlReport],
) -> None:
    row, facts, _ = built
    plain = {
        **row,
        "red_flags": [],
        "reasons": [{**r, "evidence": []} for r in row["reasons"]],
    }
    report = case_goaml(plain, facts, _case(), reporting_entity="FR-0042")
    legs = facts["legs"].filter(~pl.col("is_self")).sort("amount", descending=True)
    amounts = sorted((t.amount for t in report.transactions), reverse=True)
    assert 0 < len(amounts) <= FALLBACK_TRANSACTIONS
    assert amounts == [float(a) for a in legs["amount"].head(len(amounts))]
    assert "No red flag cites a transaction" in report.reason
    validate_goaml(goaml_xml(report))


def test_the_reason_keeps_to_goaml_s_length(
    built: tuple[dict[str, Any], dict[str, Any], GoamlReport],
) -> None:
    row, facts, _ = built
    wordy = {**row, "red_flags": [{**f, "text": "x" * 5000} for f in row["red_flags"]]}
    report = case_goaml(wordy, facts, _case(), reporting_entity="FR-0042")
    assert len(report.reason) == REASON_CHARS and report.reason.endswith("…")
    validate_goaml(goaml_xml(report))


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_unset_reporting_entity_is_refused_naming_the_setting(value: str | None) -> None:
    with pytest.raises(ConfigError, match="FLOWRISK_REPORTING_ENTITY_ID is not set"):
        reporting_entity(value)
    assert reporting_entity(" FR-0042 ") == "FR-0042"
