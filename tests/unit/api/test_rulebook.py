"""One rulebook: the payload models refuse what the batch contracts quarantine.

The test walks the declared rules of every input table (``data_contracts.contract``) and, for
each, builds a payload row that the rule would quarantine, checks with the contracts' own
Polars expression (``violation``) that the batch would indeed quarantine that value (row
rules), and posts it: the answer must be a 4xx problem document naming the field. A new rule,
or a new kind of rule, without a payload twin here fails the walk.

References are the one place where a payload differs from a dataset by design: a payload carries
one entity and its counterparties, so a counterparty's entity or a linked company need not be
in it. What the payload requires instead is that every row involves the scored entity (its
accounts, assets, reports and links; transactions between listed accounts): the twin of a
dangling reference is a row that does not.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest

from flowrisk.data_contracts import ContractContext, Rule, contract
from flowrisk.data_contracts.rules import violation
from flowrisk.schema import INPUT_TABLES, TABLES
from tests.conftest import TrainedWorld
from tests.unit.api.conftest import Service
from tests.unit.api.payloads import payload_for
from tests.unit.api.test_bad_payloads import ASSET, LINK, REPORT

Payload = dict[str, Any]
NOW = datetime.now(UTC)
RULES = [rule for table in INPUT_TABLES for rule in contract(table, ContractContext(now=NOW))]

# one clean row of each optional table, added to the payload (the walk mutates the last row)
EXTRA = {"assets": ASSET, "ownership": LINK, "reports": REPORT}
UNREADABLE = {  # text a CSV reader cannot read as the column's type (the contracts' parse rules)
    pl.Int64: "twelve",
    pl.Int32: "twelve",
    pl.Int16: "twelve",
    pl.Float64: "12,5",
    pl.Date: "yesterday",
    pl.Boolean: "maybe",
}


def _with_rows(clean: Payload) -> Payload:
    """The clean payload with one row of each optional table."""
    p = copy.deepcopy(clean)
    entity = p["entity"]["entity_id"]
    for table, row in EXTRA.items():
        p[table] = [*p.get(table, []), {k: entity if v == "$E" else v for k, v in row.items()}]
    return p


def _row(p: Payload, table: str) -> dict[str, Any]:
    """The row the walk mutates: the entity, the first account or transaction, the added
    asset, link or report."""
    if table == "entities":
        return p["entity"]  # type: ignore[no-any-return]
    return p[table][0] if table in ("accounts", "transactions") else p[table][-1]  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


@dataclass(frozen=True)
class Twin:
    """A violation of one rule: values set on the walked row (checked with the contracts'
    expression when the rule is a row rule), or a change to the whole payload."""

    label: str
    values: dict[str, Any] | None = None
    change: Callable[[Payload], Payload] | None = None
    route: str = "/v1/scores"


def _typed(rule: Rule, value: Any) -> Any:
    """A bound as a value of the column's type (floats stay floats in JSON)."""
    dtype = TABLES[rule.table].schema[rule.column]
    return float(value) if dtype == pl.Float64 and isinstance(value, int | float) else value


def _outside(rule: Rule) -> list[Twin]:
    """Just below the minimum (or at it, when strict) and just above the maximum."""
    lo, hi = rule.params["min"], rule.params["max"]
    if isinstance(lo, datetime):
        below, above = lo - timedelta(seconds=1), hi + timedelta(hours=1)
    elif isinstance(lo, date):
        below, above = lo - timedelta(days=1), hi + timedelta(days=1)
    else:
        below, above = lo - 1, hi + 1
    if rule.params.get("strict_min"):
        below = lo
    return [
        Twin("below", {rule.column: _typed(rule, below)}),
        Twin("above", {rule.column: _typed(rule, above)}),
    ]


def _not_matching(rule: Rule) -> list[Twin]:
    if isinstance(TABLES[rule.table].schema[rule.column], pl.List):
        return [Twin("unknown", {rule.column: ["laundromat"]})]
    return [Twin("mismatch", {rule.column: "not a code!"})]


def _length(rule: Rule) -> list[Twin]:
    twins = [Twin("too long", {rule.column: "x" * (rule.params["max"] + 1)})]
    if rule.params["min"] > 0:
        twins.append(Twin("empty", {rule.column: ""}))
    return twins


def _unreadable(rule: Rule) -> list[Twin]:
    dtype = TABLES[rule.table].schema[rule.column]
    if isinstance(dtype, pl.Datetime):
        return [Twin("unreadable", {rule.column: "yesterday at noon"})]
    return [Twin("unreadable", {rule.column: UNREADABLE[dtype.base_type()]})]


def _duplicate(rule: Rule) -> list[Twin]:
    table = rule.table
    if table == "entities":  # one entity per payload: twice in a batch
        return [Twin("twice", change=lambda p: {"items": [p, copy.deepcopy(p)]}, route=BATCH)]

    def change(p: Payload) -> Payload:
        rows = p[table]
        source = rows[0] if table in ("accounts", "transactions") else rows[-1]
        if table in EXTRA:
            rows.append(copy.deepcopy(source))
        else:
            for column in rule.params["key"]:
                rows[1][column] = source[column]
        return p

    return [Twin("duplicate key", change=change)]


def _dangling(rule: Rule) -> list[Twin]:
    table, column = rule.table, rule.column
    if table == "accounts":  # the entity's accounts belong to someone else

        def disown(p: Payload) -> Payload:
            for account in p["accounts"]:
                if account.get("entity_id") == p["entity"]["entity_id"]:
                    account["entity_id"] = "GHOST"
            return p

        return [Twin("not the entity's", change=disown)]
    if table == "ownership":
        return [
            Twin("not the entity's", {"owner_entity_id": "GHOST-A", "owned_entity_id": "GHOST-B"})
        ]
    if table == "transactions":
        return [Twin("unlisted account", {column: "NOPE"})]
    return [Twin("not the entity's", {column: "GHOST"})]


BATCH = "/v1/scores:batch"
TWINS: dict[str, Callable[[Rule], list[Twin]]] = {
    "not_null": lambda r: [Twin("null", {r.column: None})],
    "in_set": lambda r: [Twin("unknown", {r.column: "ZZ" if r.name.endswith(".iso") else "zz"})],
    "between": _outside,
    "regex": _not_matching,
    "length": _length,
    "a_not_after_b": lambda r: [
        Twin("reversed", {r.column: date(2020, 1, 1), r.params["other"]: date(2019, 1, 1)})
    ],
    "parse": _unreadable,
    "timezone": lambda r: [Twin("naive", {r.column: "2025-06-01T10:00:00"})],
    "endpoints": lambda r: [
        Twin("cash both ways", {"src_account_id": None, "dst_account_id": None})
    ],
    "unique": _duplicate,
    "reference": _dangling,
}
CASES = [(rule, twin) for rule in RULES for twin in TWINS[rule.kind](rule)]


@pytest.fixture(scope="module")
def clean(trained_world: TrainedWorld) -> Payload:
    t = trained_world
    return _with_rows(payload_for(t.frames, t.labels["entity_id"][3], t.as_of))


def _post(service: Service, route: str, body: Payload) -> Any:
    return service.client.post(
        route,
        content=json.dumps(body).encode(),
        headers={**service.headers(), "content-type": "application/json"},
    )


def test_the_clean_payload_with_a_row_of_each_table_scores(
    service: Service, clean: Payload
) -> None:
    r = _post(service, "/v1/scores", clean)
    assert r.status_code == 200, r.text[:500]


def test_every_rule_kind_of_every_input_table_has_a_twin() -> None:
    assert {rule.kind for rule in RULES} <= set(TWINS)
    assert {rule.table for rule in RULES} == set(INPUT_TABLES)


def _batch_would_quarantine(rule: Rule, values: dict[str, Any]) -> bool:
    """The contracts' own expression on a one-row frame of the twin's values."""
    schema = TABLES[rule.table].schema
    columns = {}
    for column, value in values.items():
        dtype = schema[column]
        if isinstance(dtype, pl.List):
            columns[column] = pl.Series(column, ["|".join(value)], pl.String)
        elif isinstance(dtype, pl.Enum):
            columns[column] = pl.Series(column, [value], pl.String)
        else:
            columns[column] = pl.Series(column, [value], dtype)
    return bool(pl.DataFrame(list(columns.values())).select(violation(rule)).item())


@pytest.mark.parametrize(
    ("rule", "twin"), CASES, ids=[f"{rule.name}-{twin.label}" for rule, twin in CASES]
)
def test_a_row_the_batch_would_quarantine_is_refused(
    service: Service, clean: Payload, rule: Rule, twin: Twin
) -> None:
    body = copy.deepcopy(clean)
    if twin.values is not None:
        if rule.row_rule:
            assert _batch_would_quarantine(rule, twin.values), "the twin breaks no rule"
        _row(body, rule.table).update({k: _jsonable(v) for k, v in twin.values.items()})
    if twin.change is not None:
        body = twin.change(body)
    r = _post(service, twin.route, body)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    named = " ".join([problem["detail"], *(e["field"] for e in problem.get("errors") or [])])
    assert rule.column in named or rule.table in named, named


AS_OF_REFUSED = {
    "year 9999": "9999-12-31T00:00:00+00:00",
    "year 1": "0001-01-01T00:00:00+00:00",
    "year 1 east of UTC": "0001-01-01T00:00:00+01:00",
    "year 9999 west of UTC": "9999-12-31T23:59:59-05:00",
    "before the earliest dataset": "1989-12-31T23:59:59+00:00",
    "two days ahead": (NOW + timedelta(days=2)).isoformat(),
    "naive": "2025-06-01T00:00:00",
    "a date alone": "2025-06-01",
    "an epoch number": 1_750_000_000,
    "an epoch as text": "1750000000",
    "a boolean": True,
}


@pytest.mark.parametrize("case", sorted(AS_OF_REFUSED))
def test_an_implausible_as_of_is_a_422_naming_it(
    service: Service, clean: Payload, case: str
) -> None:
    r = _post(service, "/v1/scores", {**clean, "as_of": AS_OF_REFUSED[case]})
    assert r.status_code == 422, r.text[:300]
    assert r.json()["errors"][0]["field"] == "as_of"


@pytest.mark.parametrize("case", ["year 9999", "year 1 east of UTC", "an epoch number", "naive"])
def test_a_batch_item_with_an_implausible_as_of_is_a_422_naming_it(
    service: Service, clean: Payload, case: str
) -> None:
    """The batch body is parsed by FastAPI from Python objects, not from JSON text: the same
    rules hold there."""
    body = {"items": [{**clean, "as_of": AS_OF_REFUSED[case]}]}
    r = _post(service, BATCH, body)
    assert r.status_code == 422, r.text[:300]
    assert r.json()["errors"][0]["field"] == "items.0.as_of"


STRICT = {
    "epoch timestamp": ("transactions", "ts", 1_750_000_000),
    "epoch timestamp as text": ("transactions", "ts", "1750000000"),
    "float timestamp": ("transactions", "ts", 1.75e9),
    "epoch report time": ("reports", "reported_at", 1_750_000_000),
    "day number": ("accounts", "opened_at", 20_000),
    "day as a datetime": ("accounts", "opened_at", "2020-01-01T00:00:00+00:00"),
    "country ZZ": ("entities", "country", "ZZ"),
    "lower-case country": ("entities", "country", "fr"),
    "account country ZZ": ("accounts", "country", "ZZ"),
    "asset before 1900": ("assets", "acquired_at", "1899-12-31"),
    "link since 1799": ("ownership", "since", "1799-12-31"),
    "registered in 1799": ("entities", "registration_date", "1799-12-31"),
    "report before 1900": ("reports", "reported_at", "1899-12-31T23:59:59+00:00"),
}


@pytest.mark.parametrize("case", sorted(STRICT))
def test_values_of_the_wrong_shape_are_refused_naming_the_field(
    service: Service, clean: Payload, case: str
) -> None:
    table, column, value = STRICT[case]
    body = copy.deepcopy(clean)
    _row(body, table)[column] = value
    r = _post(service, "/v1/scores", body)
    assert r.status_code == 422, r.text[:300]
    assert column in r.json()["errors"][0]["field"]


ACCEPTED: dict[str, Callable[[Payload], None]] = {
    "as_of in UTC with Z": lambda p: p.update(as_of=p["as_of"].replace("+00:00", "Z")),
    "as_of now": lambda p: p.update(as_of=NOW.isoformat()),
    "as_of with an offset": lambda p: p.update(
        as_of=datetime.fromisoformat(p["as_of"])
        .astimezone(timezone(timedelta(hours=-5)))
        .isoformat()
    ),
    "Kosovo (XK, in the reference list)": lambda p: p["entity"].update(country="XK"),
    "an asset without a payment method": lambda p: p["assets"][-1].pop("payment_method"),
    "a report without a category": lambda p: p["reports"][-1].pop("category"),
    "a report from 1995": lambda p: p["reports"][-1].update(reported_at="1995-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_what_the_contracts_accept_the_payload_accepts(
    service: Service, clean: Payload, case: str
) -> None:
    body = copy.deepcopy(clean)
    ACCEPTED[case](body)
    r = _post(service, "/v1/scores", body)
    assert r.status_code == 200, r.text[:300]
