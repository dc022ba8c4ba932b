"""The bad-input corpus of the data contracts (tests/contracts/test_bad_inputs.py), case by
case, as API payloads: each gets a 4xx problem document naming what is wrong, never a 500, and
each leaves an audit row. A contract case without a payload twin fails the test."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import TrainedWorld
from tests.contracts.test_bad_inputs import CASES
from tests.unit.api.conftest import Service
from tests.unit.api.payloads import payload_for

Payload = dict[str, Any]
Mutation = Callable[[Payload], Payload | bytes]
FUTURE, FUTURE_DAY = "2999-01-01T00:00:00+00:00", "2999-01-01"


def _set(path: str, value: Any) -> Mutation:
    """Set ``entity.name`` / ``transactions.0.amount`` style paths (None deletes nothing)."""

    def mutate(p: Payload) -> Payload:
        *head, last = path.split(".")
        node: Any = p
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
        return p

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(p: Payload) -> Payload:
        *head, last = path.split(".")
        node: Any = p
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]
        return p

    return mutate


def _add(table: str, row: dict[str, Any]) -> Mutation:
    def mutate(p: Payload) -> Payload:
        p[table] = [
            *p.get(table, []),
            {k: (p["entity"]["entity_id"] if v == "$E" else v) for k, v in row.items()},
        ]
        return p

    return mutate


def _raw(change: Callable[[str], str]) -> Mutation:
    return lambda p: change(json.dumps(p)).encode()


def _dup(table: str, key: str) -> Mutation:
    def mutate(p: Payload) -> Payload:
        p[table][1][key] = p[table][0][key]
        return p

    return mutate


def _own(p: Payload) -> Payload:
    for a in p["accounts"]:
        if a.get("entity_id") == p["entity"]["entity_id"]:
            a["entity_id"] = "GHOST"
    return p


ASSET = {
    "asset_id": "AS-NEW",
    "entity_id": "$E",
    "asset_type": "vehicle",
    "acquired_at": "2025-03-01",
    "value": 20_000.0,
    "payment_method": "cash",
}
LINK = {"owner_entity_id": "$E", "owned_entity_id": "C-OTHER", "role": "director"}
REPORT = {
    "report_id": "R-NEW",
    "entity_id": "$E",
    "declarant_id": "BANK1",
    "reported_at": "2025-05-01T10:00:00+00:00",
    "category": "suspicious_activity",
}
TWINS: dict[str, Mutation] = {
    "entity-null-id": _set("entity.entity_id", None),
    "entity-duplicate-id": lambda p: {"items": [p, copy.deepcopy(p)]},  # sent as a batch
    "entity-unknown-type": _set("entity.entity_type", "trust"),
    "entity-country-alpha3": _set("entity.country", "FRA"),
    "entity-country-null": _set("entity.country", None),
    "entity-birth-year": _set("entity.birth_year", 1850),
    "entity-registered-in-future": _set("entity.registration_date", FUTURE_DAY),
    "entity-closed-before-registered": lambda p: _set("entity.closure_date", "2019-01-01")(
        _set("entity.registration_date", "2020-01-01")(p)
    ),
    "entity-bad-sector": _set("entity.sector_code", "ABC"),
    "entity-negative-income": _set("entity.declared_income", -5.0),
    "entity-1mb-name": _set("entity.name", "x" * 1_000_000),
    "account-dangling-entity": _own,
    "account-duplicate-id": _dup("accounts", "account_id"),
    "account-unknown-type": _set("accounts.0.account_type", "piggy_bank"),
    "account-unknown-risk-tag": _set("accounts.0.risk_tags", ["laundromat"]),
    "account-opened-in-future": _set("accounts.0.opened_at", FUTURE_DAY),
    "account-rejected-cascades": _set("accounts.0.country", "FRA"),
    "txn-null-id": _set("transactions.0.txn_id", None),
    "txn-duplicate-id": _dup("transactions", "txn_id"),
    "txn-negative-amount": _set("transactions.0.amount", -1.0),
    "txn-zero-amount": _set("transactions.0.amount", 0.0),
    "txn-nan-amount": _set("transactions.0.amount", float("nan")),
    "txn-inf-amount": _set("transactions.0.amount", float("inf")),
    "txn-huge-amount": _set("transactions.0.amount", 1e15),
    "txn-null-amount": _set("transactions.0.amount", None),
    "txn-future-timestamp": _set("transactions.0.ts", FUTURE),
    "txn-pre-epoch-timestamp": _set("transactions.0.ts", "1969-12-31T00:00:00+00:00"),
    "txn-null-timestamp": _set("transactions.0.ts", None),
    "txn-unknown-channel": _set("transactions.0.channel", "pigeon"),
    "txn-dangling-account": _set("transactions.0.dst_account_id", "NOPE"),
    "txn-no-endpoint": lambda p: _set("transactions.0.dst_account_id", None)(
        _set("transactions.0.src_account_id", None)(p)
    ),
    "txn-bad-currency": _set("transactions.0.currency_original", "euro"),
    "txn-1mb-account-id": _set("transactions.0.src_account_id", "x" * 1_000_000),
    "asset-zero-value": _add("assets", {**ASSET, "value": 0.0}),
    "asset-unknown-entity": _add("assets", {**ASSET, "entity_id": "GHOST"}),
    "ownership-share-150": _add("ownership", {**LINK, "share_pct": 150.0}),
    "ownership-duplicate-link": lambda p: _add("ownership", LINK)(_add("ownership", LINK)(p)),
    "report-in-future": _add("reports", {**REPORT, "reported_at": FUTURE}),
    "report-unknown-category": _add("reports", {**REPORT, "category": "gossip"}),
    "label-not-binary": lambda p: {**p, "labels": [{"entity_id": "x", "label": 2}]},
    "csv-unreadable-amount": _set("transactions.0.amount", "12,5"),
    "csv-unreadable-timestamp": _set("transactions.0.ts", "yesterday"),
    "csv-mixed-time-zones": _set("transactions.0.ts", "2025-06-01T10:00:00"),
    "csv-unknown-enum": _set("entity.entity_type", "persona"),
    "missing-entities-file": _drop("entity"),
    "missing-amount-column": _drop("transactions.0.amount"),
    "wrong-dtype-amount": _set("transactions.0.amount", "100.0"),
    "empty-file": lambda p: b"",
    "truncated-parquet": _raw(lambda text: text[: len(text) // 2]),
    "csv-bad-encoding": lambda p: json.dumps(
        {**p, "entity": {**p["entity"], "name": "Café"}}, ensure_ascii=False
    ).encode("latin-1"),
    "header-only-entities": _set("entity", {}),
}


def test_every_contract_case_has_a_payload_twin() -> None:
    assert {c.id for c in CASES} == set(TWINS)


@pytest.fixture(scope="module")
def clean(trained_world: TrainedWorld) -> Payload:
    t = trained_world
    return payload_for(t.frames, t.labels["entity_id"][3], t.as_of)


@pytest.mark.parametrize("case", sorted(TWINS))
def test_bad_payload_gets_a_problem_document(service: Service, clean: Payload, case: str) -> None:
    body = TWINS[case](copy.deepcopy(clean))
    route = "/v1/scores:batch" if isinstance(body, dict) and "items" in body else "/v1/scores"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    before = len(list(service.store.audit_rows()))
    r = service.client.post(
        route, content=content, headers={**service.headers(), "content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == r.status_code and problem["title"] and problem["detail"]
    assert len(list(service.store.audit_rows())) == before + 1
