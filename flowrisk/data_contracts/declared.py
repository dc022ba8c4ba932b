"""The contract of every table, declared as data: the checks of each table, column by column.

Each entry expands to named rules (:mod:`flowrisk.data_contracts.checks`); the order here is
the order of the rules in reports and suites. A new rule is a new line here (and a bump of
``CONTRACT_VERSION``).
"""

from __future__ import annotations

from datetime import date

from flowrisk.data_contracts.checks import (
    THIS_YEAR,
    TODAY,
    Check,
    Country,
    Endpoints,
    Id,
    Known,
    Length,
    ListOf,
    NotNull,
    Order,
    Parse,
    Pattern,
    Range,
    Reference,
    Unique,
    Values,
    When,
)
from flowrisk.data_contracts.rule import (
    AMOUNT_CEILING,
    EARLIEST_BIRTH_YEAR,
    EMPLOYEES_MAX,
    MONEY_CEILING,
    NAF_PATTERN,
    NAME_MAX,
)

__all__ = ["CONTRACTS"]

OLD = date(1800, 1, 1)  # registrations and ownership links may be old
MODERN = date(1900, 1, 1)  # accounts, assets and labels are not older than this
CURRENCY_CODE = r"^[A-Z0-9]{3,5}$"
UP_TO_CEILING = f"at most {AMOUNT_CEILING:,.0f} EUR"

CONTRACTS: dict[str, tuple[Check, ...]] = {
    "entities": (
        Id("entity_id"),
        Known("entity_type"),
        Length("name", 0, NAME_MAX, f"name is at most {NAME_MAX} characters"),
        Country("country", required=True),
        Range(
            "birth_year",
            EARLIEST_BIRTH_YEAR,
            THIS_YEAR,
            f"birth_year is between {EARLIEST_BIRTH_YEAR} and this year",
        ),
        Range("registration_date", OLD, TODAY, "registration_date is not in the future"),
        Order(
            "registration_date",
            "closure_date",
            "closure_date.after_registration",
            "closure_date is not before registration_date",
        ),
        Pattern("sector_code", "naf", NAF_PATTERN, "sector_code is a NACE/NAF code such as 56.10C"),
        Range("employees", 0, EMPLOYEES_MAX, "employees is 0 or more"),
        Range("declared_income", 0, MONEY_CEILING, "declared_income is 0 or more"),
        Range("declared_revenue", 0, MONEY_CEILING, "declared_revenue is 0 or more"),
        Parse(
            "birth_year",
            "registration_date",
            "closure_date",
            "employees",
            "declared_income",
            "declared_revenue",
            "is_pep",
        ),
        Unique("entity_id"),
    ),
    "accounts": (
        Id("account_id"),
        Id("entity_id", required=False),
        Id("institution_id", required=False),
        Known("account_type"),
        Country("country", required=False),
        Range("opened_at", MODERN, TODAY, "opened_at is not in the future"),
        ListOf("risk_tags"),
        Parse("opened_at"),
        Unique("account_id"),
        Reference("entity_id", "entities", "entity_id"),
    ),
    "transactions": (
        NotNull("txn_id"),
        When("ts", required=True, period=True),
        Id("src_account_id", required=False),
        Id("dst_account_id", required=False),
        Range(
            "amount",
            0,
            AMOUNT_CEILING,
            f"amount is a finite number above 0 and {UP_TO_CEILING}",
            strict_min=True,
            required=True,
        ),
        Known("channel"),
        Pattern(
            "currency_original",
            "code",
            CURRENCY_CODE,
            "currency_original is a 3-5 letter currency or asset code",
        ),
        Id("branch_id", required=False),
        Parse("txn_id", "amount"),
        Endpoints(),
        Unique("txn_id"),
        Reference("src_account_id", "accounts", "account_id"),
        Reference("dst_account_id", "accounts", "account_id"),
    ),
    "assets": (
        Id("asset_id"),
        Id("entity_id"),
        Known("asset_type"),
        Range("acquired_at", MODERN, TODAY, "acquired_at is not in the future", required=True),
        Range(
            "value",
            0,
            AMOUNT_CEILING,
            f"value is above 0 and {UP_TO_CEILING}",
            strict_min=True,
            required=True,
        ),
        Known("payment_method", required=False),
        Parse("acquired_at", "value"),
        Unique("asset_id"),
        Reference("entity_id", "entities", "entity_id"),
    ),
    "ownership": (
        Id("owner_entity_id"),
        Id("owned_entity_id"),
        Known("role"),
        Range("share_pct", 0, 100, "share_pct is between 0 and 100"),
        Range("since", OLD, TODAY, "since is not in the future"),
        Parse("share_pct", "since"),
        Unique("owner_entity_id", "owned_entity_id", "role"),
        Reference("owner_entity_id", "entities", "entity_id"),
        Reference("owned_entity_id", "entities", "entity_id"),
    ),
    "reports": (
        Id("report_id"),
        Id("entity_id"),
        Id("declarant_id"),
        When("reported_at", required=True, period=False),
        Known("category", required=False),
        Unique("report_id"),
        Reference("entity_id", "entities", "entity_id"),
    ),
    "labels": (
        Id("entity_id"),
        Values("label", "binary", (0, 1), "label is 0 or 1"),
        NotNull("label"),
        Known("typology", required=False),
        ListOf("typologies", "typologies are known typology names"),
        Range("label_date", MODERN, TODAY, "label_date is not in the future"),
        Range("label_end", MODERN, TODAY, "label_end is not in the future"),
        Parse("label", "label_date", "label_end"),
        Unique("entity_id"),
        Reference("entity_id", "entities", "entity_id"),
    ),
    "transaction_labels": (
        NotNull("txn_id"),
        Id("entity_id"),
        Known("typology"),
        Parse("txn_id", "scheme_id"),
        Unique("txn_id", "entity_id"),
        Reference("txn_id", "transactions", "txn_id"),
        Reference("entity_id", "entities", "entity_id"),
    ),
}
