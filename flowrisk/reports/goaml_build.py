"""A goAML report built from one explained entity of a dataset: the transactions behind its
red flags and reasons, each between the entity and a named counterparty (a person, a company,
or an account outside the dataset), the red flags and typologies as indicators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import polars as pl

from flowrisk.errors import ConfigError
from flowrisk.reports.goaml import GoamlParty, GoamlReport, GoamlTransaction

__all__ = [
    "CaseLike",
    "case_analyst",
    "case_goaml",
    "evidence_transactions",
    "goaml_report",
    "reporting_entity",
]

Kind = Literal["person", "company"]
REASON_CHARS = 4000  # goAML's reason is a text of at most this many characters
FALLBACK_TRANSACTIONS = 10  # the largest ones, when no red flag or reason cites any


def evidence_transactions(explanation: Mapping[str, Any]) -> list[int]:
    """The transaction ids behind an explanation's red flags and reasons, each once, sorted."""
    items = [*explanation["red_flags"], *explanation["reasons"]]
    ids = {
        int(key)
        for item in items
        for evidence in item["evidence"]
        for kind, _, key in [evidence.partition(":")]
        if kind == "txn"
    }
    return sorted(ids)


def _subject(
    entity: Mapping[str, Any], account: str | None, institutions: Mapping[str, str]
) -> GoamlParty:
    kind: Kind = "company" if entity.get("entity_type") == "company" else "person"
    return GoamlParty(
        kind=kind,
        reference=str(entity["entity_id"]),
        name=str(entity.get("name") or entity["entity_id"]),
        country=str(entity.get("country") or ""),
        account=account,
        institution=institutions.get(account or ""),
    )


def _counterparty(leg: Mapping[str, Any], facts: Mapping[str, Any], subject: GoamlParty) -> Any:
    """The other side of a leg: an entity of the dataset with its account, an account outside
    it, or (cash) the entity itself at the counter."""
    cp_entity, cp_account = leg.get("cp_entity"), leg.get("cp_account")
    country = str(leg.get("cp_country") or subject.country)
    if cp_entity:
        kind: Kind = "company" if facts["types"].get(cp_entity) == "company" else "person"
        name = facts["names"].get(cp_entity, cp_entity)
        institution = facts["institutions"].get(cp_account or "")
        return GoamlParty(kind, cp_entity, name, country, cp_account, institution)
    if cp_account:
        return GoamlParty(
            "account", cp_account, f"external account {cp_account}", country, account=cp_account
        )
    return GoamlParty(subject.kind, subject.reference, subject.name, subject.country)


def _transactions(
    ids: list[int], facts: Mapping[str, Any], entity: Mapping[str, Any]
) -> list[GoamlTransaction]:
    legs: pl.DataFrame = facts["legs"].filter(pl.col("txn_id").is_in(ids)).sort("ts", "txn_id")
    out = []
    for leg in legs.iter_rows(named=True):
        mine = _subject(entity, leg.get("own_account"), facts["institutions"])
        other = _counterparty(leg, facts, mine)
        source, target = (other, mine) if leg["inbound"] else (mine, other)
        out.append(
            GoamlTransaction(
                number=str(leg["txn_id"]),
                at=leg["ts"],
                amount=float(leg["amount"]),
                channel=str(leg["channel"]),
                source=source,
                target=target,
            )
        )
    return out


def goaml_report(
    explanation: Mapping[str, Any],
    facts: Mapping[str, Any],
    *,
    reporting_entity: str,
    case_reference: str,
    analyst: str,
    reason: str | None = None,
    action: str = "Reported to the financial intelligence unit; accounts kept under review.",
    submitted_at: datetime | None = None,
    report_code: Literal["STR", "SAR"] = "STR",
    transaction_ids: Sequence[int] | None = None,
) -> GoamlReport:
    """The goAML report of one explained entity (``facts`` from ``entity_facts``): its
    evidence transactions (or ``transaction_ids``), parties named, red flags and typologies as
    indicators; ``reason`` defaults to the red flags' and reasons' texts."""
    entity = facts["entity"]
    ids = list(transaction_ids) if transaction_ids is not None else None
    transactions = _transactions(ids or evidence_transactions(explanation), facts, entity)
    texts = [f["text"] for f in explanation["red_flags"]] + [
        r["text"] for r in explanation["reasons"] if r["direction"] == "raises"
    ]
    parties = {p.reference: p for t in transactions for p in (t.source, t.target)}
    indicators = [f["flag"] for f in explanation["red_flags"]] + list(explanation["tags"])
    return GoamlReport(
        reporting_entity=reporting_entity,
        report_code=report_code,
        case_reference=case_reference,
        reason=reason or "; ".join(texts),
        action=action,
        analyst=analyst,
        submitted_at=submitted_at or datetime.now(UTC),
        parties=tuple(parties.values()),
        transactions=tuple(transactions),
        indicators=tuple(dict.fromkeys(indicators)),
    )


class CaseEventLike(Protocol):
    """What the export reads of a case's timeline event (``flowrisk.cases.CaseEvent``)."""

    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def text(self) -> str: ...


class CaseLike(Protocol):
    """What the export reads of a case (``flowrisk.cases.Case``)."""

    @property
    def id(self) -> str: ...
    @property
    def opened_by(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def reason_code(self) -> str | None: ...
    @property
    def decided_at(self) -> datetime | None: ...
    @property
    def events(self) -> Sequence[CaseEventLike]: ...


def _decision(case: CaseLike) -> CaseEventLike | None:
    found: list[CaseEventLike] = [e for e in case.events if e.kind == "disposition"]
    return found[-1] if found else None


def case_analyst(case: CaseLike) -> str:
    """Who answers for the case: the analyst who closed it, else its assignee, else whoever
    opened it."""
    decision = _decision(case)
    return decision.actor if decision else case.assignee or case.opened_by


def _case_reason(case: CaseLike, explanation: Mapping[str, Any], substitute: bool) -> str:
    """The case's status and disposition, the analyst's words on it, then the red flags and
    raising reasons, cut to goAML's length."""
    decision = _decision(case)
    status = case.status.replace("_", " ")
    head = f"Case {case.id}: {status}"
    if case.reason_code and case.decided_at is not None:
        head += f" ({case.reason_code.replace('_', ' ')}, {case.decided_at.date().isoformat()})"
    parts = [head + "."]
    if decision and decision.text:
        note = decision.text.strip()
        parts.append(f"Analyst's note: {note}" + ("" if note[-1] in ".!?" else "."))
    texts = [f["text"] for f in explanation["red_flags"]] + [
        r["text"] for r in explanation["reasons"] if r["direction"] == "raises"
    ]
    if texts:
        parts.append("Grounds: " + "; ".join(texts) + ".")
    if substitute:
        parts.append("No red flag cites a transaction: the largest recent ones are reported.")
    text = " ".join(parts)
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def _largest(facts: Mapping[str, Any]) -> list[int]:
    legs: pl.DataFrame = facts["legs"].filter(~pl.col("is_self"))
    top = legs.sort(["amount", "txn_id"], descending=[True, False]).head(FALLBACK_TRANSACTIONS)
    return [int(i) for i in top["txn_id"]]


def case_goaml(
    explanation: Mapping[str, Any],
    facts: Mapping[str, Any],
    case: CaseLike,
    *,
    reporting_entity: str,
    submitted_at: datetime | None = None,
) -> GoamlReport:
    """The goAML report of a case, the same from the command line and the console: the case's
    entity explained (``explanation``, ``facts`` of ``entity_facts``), the case id as
    reference, the analyst who closed or holds it, its disposition as the reason; the evidence
    transactions, or the largest ones when no red flag or reason cites any."""
    cited = evidence_transactions(explanation)
    ids = cited or _largest(facts)
    return goaml_report(
        explanation,
        facts,
        reporting_entity=reporting_entity,
        case_reference=case.id,
        analyst=case_analyst(case),
        reason=_case_reason(case, explanation, substitute=not cited),
        submitted_at=submitted_at,
        transaction_ids=ids,
    )


REPORTING_ENTITY_SETTING = "FLOWRISK_REPORTING_ENTITY_ID"


def reporting_entity(value: str | None) -> str:
    """The reporting entity's id at the unit, required by goAML: a ``ConfigError`` naming the
    setting while it is unset or blank."""
    if value is None or not value.strip():
        raise ConfigError(
            f"{REPORTING_ENTITY_SETTING} is not set: goAML reports name the reporting entity "
            "by the id the financial intelligence unit gave it (rentity_id)"
        )
    return value.strip()
