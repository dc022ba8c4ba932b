"""A goAML report built from one explained entity of a dataset: the transactions behind its
red flags and reasons, each between the entity and a named counterparty (a person, a company,
or an account outside the dataset), the red flags and typologies as indicators."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from flowrisk.reports.goaml import GoamlParty, GoamlReport, GoamlTransaction

__all__ = ["evidence_transactions", "goaml_report"]

Kind = Literal["person", "company"]


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
) -> GoamlReport:
    """The goAML report of one explained entity (``facts`` from ``entity_facts``): its
    evidence transactions, parties named, red flags and typologies as indicators; ``reason``
    defaults to the red flags' and reasons' texts."""
    entity = facts["entity"]
    transactions = _transactions(evidence_transactions(explanation), facts, entity)
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
