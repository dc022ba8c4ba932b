"""The data contracts, declared once: every rule of every table, with a name a person can act on.

Row rules (null, set, range, pattern, length, order of two columns) are turned into a Great
Expectations suite per table (:mod:`flowrisk.data_contracts.suites`) and into Polars expressions
(:func:`violation`) that give the same answer faster. Dataset rules need more than one row or
more than one table (unique keys, references, parse failures, mixed time zones) and run in Polars.

Rule names read ``<table>.<column>.<check>``, e.g. ``transactions.amount.range``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from flowrisk.reference import countries
from flowrisk.schema import TABLES

__all__ = [
    "AMOUNT_CEILING",
    "CONTRACT_VERSION",
    "ContractContext",
    "Rule",
    "contract",
    "violation",
]

# Bump when a rule is added, removed or tightened; reports and suites record it.
CONTRACT_VERSION = "1.0"
AMOUNT_CEILING = 1e9  # one billion EUR in one transaction or asset is not a plausible record
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # no flowrisk dataset starts before this
ID_MAX = 64
NAME_MAX = 512

ROW_KINDS = ("not_null", "in_set", "between", "regex", "length", "a_not_after_b")


@dataclass(frozen=True)
class ContractContext:
    """What the rules depend on: the dataset period (when known) and the validation time."""

    now: datetime
    period_start: datetime | None = None
    period_end: datetime | None = None

    @property
    def earliest(self) -> datetime:
        return self.period_start or EARLIEST

    @property
    def latest(self) -> datetime:
        return min(self.period_end, self.now) if self.period_end else self.now


@dataclass(frozen=True)
class Rule:
    """One named check; ``kind`` says how it is evaluated, ``params`` its bounds."""

    name: str
    kind: str
    column: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def row_rule(self) -> bool:
        """True when the rule looks at one row at a time (Great Expectations can run it)."""
        return self.kind in ROW_KINDS


def _id(table: str, column: str, required: bool = True) -> list[Rule]:
    rules = [
        Rule(
            f"{table}.{column}.length",
            "length",
            column,
            f"{column} is 1 to {ID_MAX} characters",
            {"min": 1, "max": ID_MAX},
        ),
    ]
    if required:
        rules.insert(
            0, Rule(f"{table}.{column}.not_null", "not_null", column, f"{column} is present")
        )
    return rules


def _enum(table: str, column: str, required: bool = True) -> list[Rule]:
    values = list(TABLES[table].schema[column].categories)  # type: ignore[attr-defined]
    rules = [
        Rule(
            f"{table}.{column}.known",
            "in_set",
            column,
            f"{column} is one of {', '.join(values)}",
            {"values": values},
        )
    ]
    if required:
        rules.insert(
            0, Rule(f"{table}.{column}.not_null", "not_null", column, f"{column} is present")
        )
    return rules


def _country(table: str, column: str, required: bool) -> list[Rule]:
    rules = [
        Rule(
            f"{table}.{column}.iso",
            "in_set",
            column,
            f"{column} is an ISO 3166-1 alpha-2 code",
            {"values": sorted(countries())},
        )
    ]
    if required:
        rules.insert(
            0, Rule(f"{table}.{column}.not_null", "not_null", column, f"{column} is present")
        )
    return rules


def _between(
    table: str,
    column: str,
    lo: Any,
    hi: Any,
    what: str,
    *,
    strict_min: bool = False,
    required: bool = False,
) -> list[Rule]:
    rules = [
        Rule(
            f"{table}.{column}.range",
            "between",
            column,
            what,
            {"min": lo, "max": hi, "strict_min": strict_min},
        )
    ]
    if required:
        rules.insert(
            0, Rule(f"{table}.{column}.not_null", "not_null", column, f"{column} is present")
        )
    return rules


def _when(
    table: str, column: str, ctx: ContractContext, *, required: bool, period: bool
) -> list[Rule]:
    lo, hi = (ctx.earliest, ctx.latest) if period else (datetime(1900, 1, 1, tzinfo=UTC), ctx.now)
    what = (
        f"{column} lies inside the dataset period (from its manifest; otherwise after "
        f"{EARLIEST:%Y-%m-%d}) and not in the future"
        if period
        else f"{column} is after {lo:%Y-%m-%d} and not in the future"
    )
    return [
        *_between(table, column, lo, hi, what, required=required),
        Rule(f"{table}.{column}.type", "parse", column, f"{column} is a readable timestamp"),
        Rule(
            f"{table}.{column}.timezone",
            "timezone",
            column,
            f"{column} carries a time zone when other rows of the file do",
        ),
    ]


def _parse(table: str, *columns: str) -> list[Rule]:
    return [
        Rule(f"{table}.{c}.type", "parse", c, f"{c} is a readable {TABLES[table].schema[c]}")
        for c in columns
    ]


def _unique(table: str, *key: str) -> Rule:
    return Rule(
        f"{table}.{'_'.join(key)}.unique",
        "unique",
        key[0],
        f"{' + '.join(key)} identifies one row",
        {"key": list(key)},
    )


def _reference(table: str, column: str, target: str, target_column: str) -> Rule:
    return Rule(
        f"{table}.{column}.exists",
        "reference",
        column,
        f"{column} is an accepted {target}.{target_column} (or null where allowed)",
        {"target": target, "target_column": target_column},
    )


def contract(table: str, ctx: ContractContext) -> list[Rule]:
    """All rules of ``table``, row rules first."""
    year = ctx.now.year
    big = {"max": 1e12}
    if table == "entities":
        rules = [
            *_id(table, "entity_id"),
            *_enum(table, "entity_type"),
            Rule(
                "entities.name.length",
                "length",
                "name",
                f"name is at most {NAME_MAX} characters",
                {"min": 0, "max": NAME_MAX},
            ),
            *_country(table, "country", required=True),
            *_between(table, "birth_year", 1900, year, "birth_year is between 1900 and this year"),
            *_between(
                table,
                "registration_date",
                datetime(1800, 1, 1).date(),
                ctx.now.date(),
                "registration_date is not in the future",
            ),
            Rule(
                "entities.closure_date.after_registration",
                "a_not_after_b",
                "registration_date",
                "closure_date is not before registration_date",
                {"other": "closure_date"},
            ),
            Rule(
                "entities.sector_code.naf",
                "regex",
                "sector_code",
                "sector_code is a NACE/NAF code such as 56.10C",
                {"regex": r"^\d{2}\.\d{1,2}[A-Z]?$"},
            ),
            *_between(table, "employees", 0, 10_000_000, "employees is 0 or more"),
            *_between(table, "declared_income", 0, big["max"], "declared_income is 0 or more"),
            *_between(table, "declared_revenue", 0, big["max"], "declared_revenue is 0 or more"),
            *_parse(
                table,
                "birth_year",
                "registration_date",
                "closure_date",
                "employees",
                "declared_income",
                "declared_revenue",
                "is_pep",
            ),
            _unique(table, "entity_id"),
        ]
    elif table == "accounts":
        rules = [
            *_id(table, "account_id"),
            *_id(table, "entity_id", required=False),
            *_id(table, "institution_id", required=False),
            *_enum(table, "account_type"),
            *_country(table, "country", required=False),
            *_between(
                table,
                "opened_at",
                datetime(1900, 1, 1).date(),
                ctx.now.date(),
                "opened_at is not in the future",
            ),
            Rule(
                "accounts.risk_tags.known",
                "regex",
                "risk_tags",
                "risk_tags are among mixer, darknet, sanctioned, gambling, high_risk_exchange",
                {"regex": _list_regex(TABLES["accounts"].schema["risk_tags"])},
            ),
            *_parse(table, "opened_at"),
            _unique(table, "account_id"),
            _reference(table, "entity_id", "entities", "entity_id"),
        ]
    elif table == "transactions":
        rules = [
            Rule("transactions.txn_id.not_null", "not_null", "txn_id", "txn_id is present"),
            *_when(table, "ts", ctx, required=True, period=True),
            *_id(table, "src_account_id", required=False),
            *_id(table, "dst_account_id", required=False),
            *_between(
                table,
                "amount",
                0,
                AMOUNT_CEILING,
                f"amount is a finite number above 0 and at most {AMOUNT_CEILING:,.0f} EUR",
                strict_min=True,
                required=True,
            ),
            *_enum(table, "channel"),
            Rule(
                "transactions.currency_original.code",
                "regex",
                "currency_original",
                "currency_original is a 3-5 letter currency or asset code",
                {"regex": r"^[A-Z0-9]{3,5}$"},
            ),
            *_id(table, "branch_id", required=False),
            *_parse(table, "txn_id", "amount"),
            Rule(
                "transactions.endpoints.present",
                "endpoints",
                "src_account_id",
                "src_account_id and dst_account_id are not both null",
            ),
            _unique(table, "txn_id"),
            _reference(table, "src_account_id", "accounts", "account_id"),
            _reference(table, "dst_account_id", "accounts", "account_id"),
        ]
    elif table == "assets":
        rules = [
            *_id(table, "asset_id"),
            *_id(table, "entity_id"),
            *_enum(table, "asset_type"),
            *_between(
                table,
                "acquired_at",
                datetime(1900, 1, 1).date(),
                ctx.now.date(),
                "acquired_at is not in the future",
                required=True,
            ),
            *_between(
                table,
                "value",
                0,
                AMOUNT_CEILING,
                f"value is above 0 and at most {AMOUNT_CEILING:,.0f} EUR",
                strict_min=True,
                required=True,
            ),
            *_enum(table, "payment_method", required=False),
            *_parse(table, "acquired_at", "value"),
            _unique(table, "asset_id"),
            _reference(table, "entity_id", "entities", "entity_id"),
        ]
    elif table == "ownership":
        rules = [
            *_id(table, "owner_entity_id"),
            *_id(table, "owned_entity_id"),
            *_enum(table, "role"),
            *_between(table, "share_pct", 0, 100, "share_pct is between 0 and 100"),
            *_between(
                table,
                "since",
                datetime(1800, 1, 1).date(),
                ctx.now.date(),
                "since is not in the future",
            ),
            *_parse(table, "share_pct", "since"),
            _unique(table, "owner_entity_id", "owned_entity_id", "role"),
            _reference(table, "owner_entity_id", "entities", "entity_id"),
            _reference(table, "owned_entity_id", "entities", "entity_id"),
        ]
    elif table == "reports":
        rules = [
            *_id(table, "report_id"),
            *_id(table, "entity_id"),
            *_id(table, "declarant_id"),
            *_when(table, "reported_at", ctx, required=True, period=False),
            *_enum(table, "category", required=False),
            _unique(table, "report_id"),
            _reference(table, "entity_id", "entities", "entity_id"),
        ]
    elif table == "labels":
        rules = [
            *_id(table, "entity_id"),
            Rule("labels.label.binary", "in_set", "label", "label is 0 or 1", {"values": [0, 1]}),
            Rule("labels.label.not_null", "not_null", "label", "label is present"),
            *_enum(table, "typology", required=False),
            Rule(
                "labels.typologies.known",
                "regex",
                "typologies",
                "typologies are known typology names",
                {"regex": _list_regex(TABLES["labels"].schema["typologies"])},
            ),
            *_between(
                table,
                "label_date",
                datetime(1900, 1, 1).date(),
                ctx.now.date(),
                "label_date is not in the future",
            ),
            *_parse(table, "label", "label_date"),
            _unique(table, "entity_id"),
            _reference(table, "entity_id", "entities", "entity_id"),
        ]
    elif table == "transaction_labels":
        rules = [
            Rule("transaction_labels.txn_id.not_null", "not_null", "txn_id", "txn_id is present"),
            *_id(table, "entity_id"),
            *_enum(table, "typology"),
            *_parse(table, "txn_id", "scheme_id"),
            _unique(table, "txn_id", "entity_id"),
            _reference(table, "txn_id", "transactions", "txn_id"),
            _reference(table, "entity_id", "entities", "entity_id"),
        ]
    else:
        raise KeyError(table)
    return sorted(rules, key=lambda r: not r.row_rule)


def _list_regex(dtype: pl.DataType) -> str:
    values = "|".join(dtype.inner.categories)  # type: ignore[attr-defined]
    return rf"^(?:(?:{values})(?:\|(?:{values}))*)?$"


def violation(rule: Rule) -> pl.Expr:
    """A Polars expression, true on the rows that break a row rule (nulls pass, as in GX)."""
    c = pl.col(rule.column)
    p = rule.params
    if rule.kind == "not_null":
        return c.is_null()
    if rule.kind == "in_set":
        return c.is_not_null() & ~c.is_in(p["values"])
    if rule.kind == "between":
        lo = c > p["min"] if p.get("strict_min") else c >= p["min"]
        inside = lo & (c <= p["max"])
        return c.is_not_null() & ~inside.fill_null(False)
    if rule.kind == "regex":
        return c.is_not_null() & ~c.str.contains(p["regex"])
    if rule.kind == "length":
        n = c.str.len_chars()
        return c.is_not_null() & ~n.is_between(p["min"], p["max"])
    if rule.kind == "a_not_after_b":
        other = pl.col(p["other"])
        return c.is_not_null() & other.is_not_null() & (c > other)
    raise ValueError(f"{rule.name}: {rule.kind} is not a row rule")
