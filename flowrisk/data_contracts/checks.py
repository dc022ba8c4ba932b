"""The kinds of check a table's contract is declared with; each expands to named rules.

A check names a column and what it requires; :meth:`Check.rules` turns it into the
:class:`Rule` objects of one table (``<table>.<column>.<check>``) for a validation context.
Bounds that depend on the day of validation are written :data:`TODAY` or :data:`THIS_YEAR`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Protocol

import polars as pl

from flowrisk.data_contracts.rule import EARLIEST, ID_MAX, ContractContext, Rule
from flowrisk.reference import countries
from flowrisk.schema import TABLES

__all__ = [
    "THIS_YEAR",
    "TODAY",
    "Check",
    "Country",
    "Endpoints",
    "Id",
    "Known",
    "Length",
    "ListOf",
    "NotNull",
    "Order",
    "Parse",
    "Pattern",
    "Range",
    "Reference",
    "Unique",
    "Values",
    "When",
]


class Bound(Enum):
    """A bound known only when validating."""

    THIS_YEAR = "this year"
    TODAY = "today"

    def value_in(self, ctx: ContractContext) -> int | date:
        return ctx.now.year if self is Bound.THIS_YEAR else ctx.now.date()


THIS_YEAR = Bound.THIS_YEAR
TODAY = Bound.TODAY


class Check(Protocol):
    """Anything that expands to the rules of one table."""

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]: ...


def _not_null(table: str, column: str) -> Rule:
    return Rule(f"{table}.{column}.not_null", "not_null", column, f"{column} is present")


def _present_first(table: str, column: str, required: bool, rule: Rule) -> list[Rule]:
    """``rule``, preceded by the column's not-null rule when the column is required."""
    return [_not_null(table, column), rule] if required else [rule]


@dataclass(frozen=True)
class NotNull:
    """The column is present on every row."""

    column: str

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        return [_not_null(table, self.column)]


@dataclass(frozen=True)
class Id:
    """An identifier: 1 to ID_MAX characters (and present when required)."""

    column: str
    required: bool = True

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        c = self.column
        what = f"{c} is 1 to {ID_MAX} characters"
        length = Rule(f"{table}.{c}.length", "length", c, what, {"min": 1, "max": ID_MAX})
        return _present_first(table, c, self.required, length)


@dataclass(frozen=True)
class Known:
    """A value of the column's enum in the schema (and present when required)."""

    column: str
    required: bool = True

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        c = self.column
        values = list(TABLES[table].schema[c].categories)  # type: ignore[attr-defined]
        what = f"{c} is one of {', '.join(values)}"
        known = Rule(f"{table}.{c}.known", "in_set", c, what, {"values": values})
        return _present_first(table, c, self.required, known)


@dataclass(frozen=True)
class Country:
    """An ISO 3166-1 alpha-2 code from the reference list (and present when required)."""

    column: str
    required: bool

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        c = self.column
        what = f"{c} is an ISO 3166-1 alpha-2 code"
        iso = Rule(f"{table}.{c}.iso", "in_set", c, what, {"values": sorted(countries())})
        return _present_first(table, c, self.required, iso)


@dataclass(frozen=True)
class Values:
    """One of a fixed set of values, under the check name ``check``."""

    column: str
    check: str
    values: tuple[Any, ...]
    what: str

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        name = f"{table}.{self.column}.{self.check}"
        return [Rule(name, "in_set", self.column, self.what, {"values": list(self.values)})]


@dataclass(frozen=True)
class Range:
    """Between ``lo`` and ``hi`` (above ``lo`` when ``strict_min``; present when required)."""

    column: str
    lo: Any
    hi: Any
    what: str
    strict_min: bool = False
    required: bool = False

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        lo, hi = (b.value_in(ctx) if isinstance(b, Bound) else b for b in (self.lo, self.hi))
        params = {"min": lo, "max": hi, "strict_min": self.strict_min}
        rule = Rule(f"{table}.{self.column}.range", "between", self.column, self.what, params)
        return _present_first(table, self.column, self.required, rule)


@dataclass(frozen=True)
class When:
    """A timestamp: readable, zoned like the rest of its file, and after 1900 and not in the
    future, or inside the dataset's period when ``period``."""

    column: str
    required: bool
    period: bool

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        c = self.column
        if self.period:
            lo, hi = ctx.earliest, ctx.latest
            what = (
                f"{c} lies inside the dataset period (from its manifest; otherwise after "
                f"{EARLIEST:%Y-%m-%d}) and not in the future"
            )
        else:
            lo, hi = datetime(1900, 1, 1, tzinfo=UTC), ctx.now
            what = f"{c} is after {lo:%Y-%m-%d} and not in the future"
        zoned = f"{c} carries a time zone when other rows of the file do"
        return [
            *Range(c, lo, hi, what, required=self.required).rules(table, ctx),
            Rule(f"{table}.{c}.type", "parse", c, f"{c} is a readable timestamp"),
            Rule(f"{table}.{c}.timezone", "timezone", c, zoned),
        ]


@dataclass(frozen=True)
class Length:
    """Text of ``lo`` to ``hi`` characters."""

    column: str
    lo: int
    hi: int
    what: str

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        params = {"min": self.lo, "max": self.hi}
        return [Rule(f"{table}.{self.column}.length", "length", self.column, self.what, params)]


@dataclass(frozen=True)
class Pattern:
    """Text matching ``regex``, under the check name ``check``."""

    column: str
    check: str
    regex: str
    what: str

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        name = f"{table}.{self.column}.{self.check}"
        return [Rule(name, "regex", self.column, self.what, {"regex": self.regex})]


def list_regex(dtype: pl.DataType) -> str:
    """A pattern matching the schema's list of enum values as the check frame joins them."""
    values = "|".join(dtype.inner.categories)  # type: ignore[attr-defined]
    return rf"^(?:(?:{values})(?:\|(?:{values}))*)?$"


@dataclass(frozen=True)
class ListOf:
    """A list whose every value is in the schema's enum (``what`` may name ``{values}``)."""

    column: str
    what: str = "{column} are among {values}"

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        dtype = TABLES[table].schema[self.column]
        values = ", ".join(dtype.inner.categories)  # type: ignore[attr-defined]
        what = self.what.format(column=self.column, values=values)
        pattern = Pattern(self.column, "known", list_regex(dtype), what)
        return pattern.rules(table, ctx)


@dataclass(frozen=True)
class Order:
    """``column`` is not after ``other`` (when both are present)."""

    column: str
    other: str
    name: str
    what: str

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        rule = Rule(
            f"{table}.{self.name}", "a_not_after_b", self.column, self.what, {"other": self.other}
        )
        return [rule]


class Parse:
    """Each column's text (CSV) is readable as the schema's type."""

    def __init__(self, *columns: str) -> None:
        self.columns = columns

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        schema = TABLES[table].schema
        return [
            Rule(f"{table}.{c}.type", "parse", c, f"{c} is a readable {schema[c]}")
            for c in self.columns
        ]


@dataclass(frozen=True)
class Endpoints:
    """A transaction has a source or a destination account (null on one side means cash)."""

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        what = "src_account_id and dst_account_id are not both null"
        return [Rule(f"{table}.endpoints.present", "endpoints", "src_account_id", what)]


class Unique:
    """The key columns identify one row."""

    def __init__(self, *key: str) -> None:
        self.key = key

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        key = self.key
        what = f"{' + '.join(key)} identifies one row"
        name = f"{table}.{'_'.join(key)}.unique"
        return [Rule(name, "unique", key[0], what, {"key": list(key)})]


@dataclass(frozen=True)
class Reference:
    """A value of ``target.target_column`` among the rows accepted there (or null)."""

    column: str
    target: str
    target_column: str

    def rules(self, table: str, ctx: ContractContext) -> list[Rule]:
        target = f"{self.target}.{self.target_column}"
        what = f"{self.column} is an accepted {target} (or null where allowed)"
        params = {"target": self.target, "target_column": self.target_column}
        return [Rule(f"{table}.{self.column}.exists", "reference", self.column, what, params)]
