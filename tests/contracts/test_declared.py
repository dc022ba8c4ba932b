"""The declared contracts: one per table of the data model, every rule on a schema column,
every rule name unique and of the form ``<table>.<column>.<check>``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowrisk.data_contracts import ContractContext, contract
from flowrisk.data_contracts.declared import CONTRACTS
from flowrisk.data_contracts.rules import violation
from flowrisk.schema import TABLES

CTX = ContractContext(now=datetime(2026, 1, 1, tzinfo=UTC))


def test_every_table_has_a_contract() -> None:
    assert set(CONTRACTS) == set(TABLES)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_rules_name_schema_columns(table: str) -> None:
    rules = contract(table, CTX)
    names = [r.name for r in rules]
    assert len(names) == len(set(names))
    columns = set(TABLES[table].schema.names())
    for rule in rules:
        assert rule.table == table and rule.name.count(".") == 2, rule.name
        assert rule.column in columns, rule.name
        assert set(rule.params.get("key", [])) <= columns, rule.name
        assert rule.params.get("other", rule.column) in columns, rule.name
        if rule.row_rule:
            violation(rule)  # every row rule has a Polars form
    assert [r.row_rule for r in rules] == sorted((r.row_rule for r in rules), reverse=True)


def test_bounds_of_the_day_follow_the_context() -> None:
    later = ContractContext(now=datetime(2031, 6, 1, tzinfo=UTC))
    birth = {r.name: r for r in contract("entities", later)}["entities.birth_year.range"]
    assert birth.params["max"] == 2031
    opened = {r.name: r for r in contract("accounts", later)}["accounts.opened_at.range"]
    assert opened.params["max"] == later.now.date()
