"""The data model: Polars schemas of every table, the single source of truth for every stage.

A dataset is a folder of Parquet files, one per table (``entities.parquet``, ...). Only
``entities``, ``accounts`` and ``transactions`` are required. Money is EUR as Float64, times are
UTC. ``labels`` and ``transaction_labels`` are ground truth: used for training and evaluation,
never an input to scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = [
    "ACCOUNT_TYPES",
    "ALERT_BANDS",
    "ASSET_TYPES",
    "BANDS",
    "CHANNELS",
    "ENTITY_TYPES",
    "FEEDBACK",
    "INPUT_TABLES",
    "KEY_ROLES",
    "LABEL_TABLES",
    "OWNERSHIP_ROLES",
    "PAYMENT_METHODS",
    "REPORT_CATEGORIES",
    "REQUIRED_TABLES",
    "RISK_TAGS",
    "SHORT_WINDOW_TYPOLOGIES",
    "TABLES",
    "TIMESTAMP",
    "TYPOLOGIES",
    "TableSpec",
]

TIMESTAMP = pl.Datetime("us", "UTC")

ENTITY_TYPES = ("person", "company")
ACCOUNT_TYPES = (
    "current",
    "savings",
    "business",
    "crypto_exchange",
    "crypto_wallet",
    "external",
)
RISK_TAGS = ("mixer", "darknet", "sanctioned", "gambling", "high_risk_exchange")
CHANNELS = ("cash", "wire", "instant", "card", "cheque", "crypto", "remittance")
ASSET_TYPES = ("real_estate", "vehicle", "luxury_goods", "boat", "other")
PAYMENT_METHODS = ("cash", "loan", "transfer", "crypto")
# ``relative`` links two persons of one family (owner = the person, owned = the relative); the
# other roles link a person or company to a company it controls.
OWNERSHIP_ROLES = ("beneficial_owner", "director", "shareholder", "relative")
REPORT_CATEGORIES = (
    "suspicious_activity",
    "cash_threshold",
    "remittance_threshold",
    "crypto_activity",
    "asset_purchase",
)
# the risk bands of a score, lowest first, and those an analyst is alerted on
BANDS = ("low", "medium", "high", "critical")
ALERT_BANDS = BANDS[2:]
# roles of an API key, weakest first: a role may use the routes of the roles before it
KEY_ROLES = ("analyst", "supervisor", "admin")
TYPOLOGIES = (
    "structuring",
    "front_business",
    "unexplained_wealth",
    "crypto",
    "mule",
    "high_risk_jurisdiction",
    "layering",
    "multi_declarant",
    "fan_in",
    "fan_out",
    "cycle",
    "scatter_gather",
    "gather_scatter",
    "bipartite",
    "stacked_bipartite",
    "random_walk",
)
# The typologies of the AML research generators (AMLSim, AMLworld) played out within days by
# ordinary accounts; only amounts, times and counterparties mark them.
SHORT_WINDOW_TYPOLOGIES = TYPOLOGIES[8:]

EntityType = pl.Enum(ENTITY_TYPES)
AccountType = pl.Enum(ACCOUNT_TYPES)
RiskTag = pl.Enum(RISK_TAGS)
Channel = pl.Enum(CHANNELS)
AssetType = pl.Enum(ASSET_TYPES)
PaymentMethod = pl.Enum(PAYMENT_METHODS)
OwnershipRole = pl.Enum(OWNERSHIP_ROLES)
ReportCategory = pl.Enum(REPORT_CATEGORIES)
Typology = pl.Enum(TYPOLOGIES)


def _schema(columns: Mapping[str, Any]) -> pl.Schema:
    return pl.Schema(columns)


@dataclass(frozen=True)
class TableSpec:
    """One table of the data model: its columns, which of them must be present, and its key."""

    name: str
    schema: pl.Schema
    key: tuple[str, ...]
    required_columns: tuple[str, ...]
    description: str

    @property
    def optional_columns(self) -> tuple[str, ...]:
        """Columns a file may omit; readers fill them with nulls."""
        return tuple(c for c in self.schema.names() if c not in self.required_columns)

    def empty(self) -> pl.DataFrame:
        """An empty frame with this table's schema."""
        return pl.DataFrame(schema=self.schema)


ENTITIES = TableSpec(
    name="entities",
    schema=_schema(
        {
            "entity_id": pl.String,
            "entity_type": EntityType,
            "name": pl.String,
            "country": pl.String,
            "birth_year": pl.Int16,
            "registration_date": pl.Date,
            "closure_date": pl.Date,
            "sector_code": pl.String,
            "employees": pl.Int32,
            "declared_income": pl.Float64,
            "declared_revenue": pl.Float64,
            "is_pep": pl.Boolean,
        }
    ),
    key=("entity_id",),
    required_columns=("entity_id", "entity_type", "country"),
    description="People and companies; persons carry birth_year and declared_income (yearly), "
    "companies registration dates, NACE/NAF sector, employees and declared_revenue (yearly).",
)

ACCOUNTS = TableSpec(
    name="accounts",
    schema=_schema(
        {
            "account_id": pl.String,
            "entity_id": pl.String,
            "institution_id": pl.String,
            "account_type": AccountType,
            "country": pl.String,
            "opened_at": pl.Date,
            "risk_tags": pl.List(RiskTag),
        }
    ),
    key=("account_id",),
    required_columns=("account_id", "entity_id", "account_type"),
    description="Bank, exchange and wallet accounts; entity_id is null for external "
    "counterparties.",
)

TRANSACTIONS = TableSpec(
    name="transactions",
    schema=_schema(
        {
            "txn_id": pl.Int64,
            "ts": TIMESTAMP,
            "src_account_id": pl.String,
            "dst_account_id": pl.String,
            "amount": pl.Float64,
            "channel": Channel,
            "currency_original": pl.String,
            "branch_id": pl.String,
        }
    ),
    key=("txn_id",),
    required_columns=("txn_id", "ts", "src_account_id", "dst_account_id", "amount", "channel"),
    description="Money moving between accounts: src null = cash paid in, dst null = cash taken "
    "out; amount in EUR; branch_id is the branch or ATM of a cash operation when known.",
)

ASSETS = TableSpec(
    name="assets",
    schema=_schema(
        {
            "asset_id": pl.String,
            "entity_id": pl.String,
            "asset_type": AssetType,
            "acquired_at": pl.Date,
            "value": pl.Float64,
            "payment_method": PaymentMethod,
        }
    ),
    key=("asset_id",),
    required_columns=("asset_id", "entity_id", "asset_type", "acquired_at", "value"),
    description="Registered assets (real estate, vehicles, luxury goods, boats) and how they "
    "were paid.",
)

OWNERSHIP = TableSpec(
    name="ownership",
    schema=_schema(
        {
            "owner_entity_id": pl.String,
            "owned_entity_id": pl.String,
            "role": OwnershipRole,
            "share_pct": pl.Float64,
            "since": pl.Date,
        }
    ),
    key=("owner_entity_id", "owned_entity_id", "role"),
    required_columns=("owner_entity_id", "owned_entity_id", "role"),
    description="Who owns or runs which company (and family links between persons, role relative).",
)

REPORTS = TableSpec(
    name="reports",
    schema=_schema(
        {
            "report_id": pl.String,
            "entity_id": pl.String,
            "declarant_id": pl.String,
            "reported_at": TIMESTAMP,
            "category": ReportCategory,
        }
    ),
    key=("report_id",),
    required_columns=("report_id", "entity_id", "declarant_id", "reported_at"),
    description="Reports received about an entity, with the institution that filed them.",
)

LABELS = TableSpec(
    name="labels",
    schema=_schema(
        {
            "entity_id": pl.String,
            "label": pl.Int8,
            "typology": Typology,
            "typologies": pl.List(Typology),
            "label_date": pl.Date,
            "label_end": pl.Date,
        }
    ),
    key=("entity_id",),
    required_columns=("entity_id", "label"),
    description="Ground truth per entity: 1 = launders; typology is the main one, typologies all "
    "of them; label_date the start of the first scheme; label_end the last day of the last "
    "scheme (null: still active). Training only.",
)

TRANSACTION_LABELS = TableSpec(
    name="transaction_labels",
    schema=_schema(
        {
            "txn_id": pl.Int64,
            "entity_id": pl.String,
            "typology": Typology,
            "scheme_id": pl.Int64,
        }
    ),
    key=("txn_id", "entity_id"),
    required_columns=("txn_id", "entity_id", "typology"),
    description="Ground truth per transaction: the transactions that belong to an injected scheme.",
)

FEEDBACK = TableSpec(
    name="feedback",
    schema=_schema(
        {
            "entity_id": pl.String,
            "label": pl.Int8,
            "decided_at": TIMESTAMP,
            "case_id": pl.String,
            "reason_code": pl.String,
        }
    ),
    key=("case_id",),
    required_columns=("entity_id", "label", "decided_at"),
    description="Analysts' decisions on closed cases as labels (1 = confirmed and reported, "
    "0 = dismissed), dated by the decision: written by `flowrisk feedback export`, read by "
    "`flowrisk train --feedback`. Not an input table of a dataset.",
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        ENTITIES,
        ACCOUNTS,
        TRANSACTIONS,
        ASSETS,
        OWNERSHIP,
        REPORTS,
        LABELS,
        TRANSACTION_LABELS,
    )
}
REQUIRED_TABLES = ("entities", "accounts", "transactions")
INPUT_TABLES = ("entities", "accounts", "transactions", "assets", "ownership", "reports")
LABEL_TABLES = ("labels", "transaction_labels")
