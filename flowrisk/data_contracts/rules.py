"""The data contracts: every rule of every table, with a name a person can act on.

The rules are declared as data, table by table (:mod:`flowrisk.data_contracts.declared`).
Row rules (null, set, range, pattern, length, order of two columns) are turned into a Great
Expectations suite per table (:mod:`flowrisk.data_contracts.suites`) and into Polars expressions
(:func:`violation`) that give the same answer faster. Dataset rules need more than one row or
more than one table (unique keys, references, parse failures, mixed time zones) and run in Polars.

Rule names read ``<table>.<column>.<check>``, e.g. ``transactions.amount.range``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from flowrisk.data_contracts.declared import CONTRACTS
from flowrisk.data_contracts.rule import (
    AMOUNT_CEILING,
    EARLIEST,
    ID_MAX,
    NAME_MAX,
    ContractContext,
    Rule,
)

__all__ = [
    "AMOUNT_CEILING",
    "CONTRACT_VERSION",
    "EARLIEST",
    "ID_MAX",
    "NAME_MAX",
    "ContractContext",
    "Rule",
    "contract",
    "violation",
]

# Bump when a rule is added, removed or tightened; reports and suites record it.
CONTRACT_VERSION = "1.0"


def contract(table: str, ctx: ContractContext) -> list[Rule]:
    """All rules of ``table``, row rules first."""
    rules = [rule for check in CONTRACTS[table] for rule in check.rules(table, ctx)]
    return sorted(rules, key=lambda r: not r.row_rule)


def _between(c: pl.Expr, p: Mapping[str, Any]) -> pl.Expr:
    lo = c > p["min"] if p.get("strict_min") else c >= p["min"]
    return c.is_not_null() & ~(lo & (c <= p["max"])).fill_null(False)


def _not_after(c: pl.Expr, p: Mapping[str, Any]) -> pl.Expr:
    other = pl.col(p["other"])
    return c.is_not_null() & other.is_not_null() & (c > other)


_VIOLATIONS: dict[str, Callable[[pl.Expr, Mapping[str, Any]], pl.Expr]] = {
    "not_null": lambda c, p: c.is_null(),
    "in_set": lambda c, p: c.is_not_null() & ~c.is_in(p["values"]),
    "between": _between,
    "regex": lambda c, p: c.is_not_null() & ~c.str.contains(p["regex"]),
    "length": lambda c, p: c.is_not_null() & ~c.str.len_chars().is_between(p["min"], p["max"]),
    "a_not_after_b": _not_after,
}


def violation(rule: Rule) -> pl.Expr:
    """A Polars expression, true on the rows that break a row rule (nulls pass, as in GX)."""
    if rule.kind not in _VIOLATIONS:
        raise ValueError(f"{rule.name}: {rule.kind} is not a row rule")
    return _VIOLATIONS[rule.kind](pl.col(rule.column), rule.params)
