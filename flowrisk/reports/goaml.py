"""The suspicious-transaction report in the goAML XML structure most financial-intelligence
units accept: a report (reporting entity, report code, case reference, reason, action) with
the transactions at stake, each from one party to another. ``goaml_xml`` writes the elements
in goAML's order, ``validate_goaml`` checks a document against the XSD shipped beside this
module, ``write_goaml`` writes only a valid one, atomically."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from flowrisk.errors import InvalidParameter
from flowrisk.io import replace_file_atomically

__all__ = [
    "FUNDS",
    "GoamlParty",
    "GoamlReport",
    "GoamlTransaction",
    "goaml_xml",
    "validate_goaml",
    "write_goaml",
]

# flowrisk's channels as goAML funds codes: C cash, E electronic transfer, V virtual, Q cheque
FUNDS = {
    "cash": "C",
    "wire": "E",
    "instant": "E",
    "card": "E",
    "remittance": "E",
    "cheque": "Q",
    "crypto": "V",
}
UNKNOWN_INSTITUTION = "unknown institution"


@dataclass(frozen=True)
class GoamlParty:
    """One side of a transaction: a person or a company (``kind``), with the account it used
    when known; an account whose holder is outside the dataset is ``kind="account"``."""

    kind: Literal["person", "company", "account"]
    reference: str  # the entity id, or the account id of an outside account
    name: str
    country: str
    account: str | None = None
    institution: str | None = None


@dataclass(frozen=True)
class GoamlTransaction:
    """One reported transaction: its number, time, amount in the local currency, channel, and
    the parties it went from and to."""

    number: str
    at: datetime
    amount: float
    channel: str
    source: GoamlParty
    target: GoamlParty
    description: str | None = None


@dataclass(frozen=True)
class GoamlReport:
    """A suspicious-transaction (STR) or -activity (SAR) report of one case."""

    reporting_entity: str  # rentity_id: the reporting entity's id at the unit
    report_code: Literal["STR", "SAR"]
    case_reference: str  # entity_reference: the reporting entity's own reference
    reason: str
    action: str
    analyst: str
    submitted_at: datetime
    parties: tuple[GoamlParty, ...]
    transactions: tuple[GoamlTransaction, ...]
    indicators: tuple[str, ...]
    currency: str = "EUR"
    submission_code: Literal["E", "M"] = "E"
    location: tuple[str, str, str] | None = field(default=None)  # address, city, country


def _el(tag: str, *children: Any, text: object = None) -> Any:
    from lxml import etree

    node = etree.Element(tag)
    if text is not None:
        node.text = str(text)
    for child in children:
        if child is not None:
            node.append(child)
    return node


def _stamp(moment: datetime) -> str:
    """goAML's date and time: to the second, in UTC, without a zone suffix."""
    local = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _names(full: str) -> tuple[str, str]:
    """First and last name of a full name (the last word is the last name; one word is both)."""
    parts = full.strip().rsplit(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (full.strip(), full.strip())


def _person(tag: str, party: GoamlParty) -> Any:
    first, last = _names(party.name)
    return _el(
        tag,
        _el("first_name", text=first),
        _el("last_name", text=last),
        _el("nationality1", text=party.country),
    )


def _entity(tag: str, party: GoamlParty) -> Any:
    return _el(
        tag,
        _el("name", text=party.name),
        _el("incorporation_number", text=party.reference),
        _el("incorporation_country_code", text=party.country),
    )


def _account(tag: str, party: GoamlParty, currency: str) -> Any:
    institution = (
        _el("institution_code", text=party.institution)
        if party.institution
        else _el("institution_name", text=UNKNOWN_INSTITUTION)
    )
    holder = None
    if party.kind == "company":
        holder = _entity("t_entity", party)
    elif party.kind == "person":
        holder = _el("signatory", _el("is_primary", text="true"), _person("t_person", party))
    return _el(
        tag,
        institution,
        _el("account", text=party.account),
        _el("currency_code", text=currency),
        _el("account_name", text=party.name),
        holder,
    )


def _side(side: Literal["from", "to"], party: GoamlParty, channel: str, currency: str) -> Any:
    """``t_from`` or ``t_to``: funds code, the party (its account when known), its country."""
    if party.account:
        who = _account(f"{side}_account", party, currency)
    elif party.kind == "company":
        who = _entity(f"{side}_entity", party)
    else:
        who = _person(f"{side}_person", party)
    return _el(
        f"t_{side}",
        _el(f"{side}_funds_code", text=FUNDS.get(channel, channel)),
        who,
        _el(f"{side}_country", text=party.country),
    )


def _transaction(txn: GoamlTransaction, currency: str) -> Any:
    return _el(
        "transaction",
        _el("transactionnumber", text=txn.number),
        _el("transaction_description", text=txn.description) if txn.description else None,
        _el("date_transaction", text=_stamp(txn.at)),
        _el("transmode_code", text=txn.channel),
        _el("amount_local", text=f"{txn.amount:.2f}"),
        _side("from", txn.source, txn.channel, currency),
        _side("to", txn.target, txn.channel, currency),
    )


def goaml_xml(report: GoamlReport) -> bytes:
    """The report as goAML XML (UTF-8, elements in goAML's order); not validated here."""
    from lxml import etree

    first, last = _names(report.analyst)
    location = None
    if report.location:
        address, city, country = report.location
        location = _el(
            "location",
            _el("address_type", text="business"),
            _el("address", text=address),
            _el("city", text=city),
            _el("country_code", text=country),
        )
    root = _el(
        "report",
        _el("rentity_id", text=report.reporting_entity),
        _el("submission_code", text=report.submission_code),
        _el("report_code", text=report.report_code),
        _el("entity_reference", text=report.case_reference),
        _el("submission_date", text=_stamp(report.submitted_at)),
        _el("currency_code_local", text=report.currency),
        _el(
            "reporting_person",
            _el("first_name", text=first),
            _el("last_name", text=last),
            _el("occupation", text="analyst"),
        ),
        location,
        _el("reason", text=report.reason),
        _el("action", text=report.action),
        *(_transaction(t, report.currency) for t in report.transactions),
        _el("report_indicators", *(_el("indicator", text=i) for i in report.indicators)),
    )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@functools.cache
def _schema() -> Any:
    from lxml import etree

    xsd = resources.files("flowrisk.reports").joinpath("goaml.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


_ELEMENT = re.compile(r"Element '([^']+)'")


def validate_goaml(xml: bytes) -> None:
    """Raise :class:`InvalidParameter` naming the first element (and its path) that breaks the
    shipped goAML XSD, or the document's own syntax error; return quietly when it is valid."""
    from lxml import etree

    try:
        doc = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise InvalidParameter("goaml", f"not well-formed XML: {exc}") from None
    schema = _schema()
    if schema.validate(doc):
        return
    error = schema.error_log[0]
    found = _ELEMENT.search(error.message)
    element = found.group(1) if found else "report"
    raise InvalidParameter(
        f"goaml.{element}", f"{error.message} (at {error.path or '/report'}, line {error.line})"
    )


def write_goaml(report: GoamlReport, path: Path) -> Path:
    """Validate the report's XML and write it to ``path`` through a temporary file renamed
    when complete; an invalid report writes nothing."""
    xml = goaml_xml(report)
    validate_goaml(xml)
    with replace_file_atomically(path) as staged:
        staged.write_bytes(xml)
    return path
