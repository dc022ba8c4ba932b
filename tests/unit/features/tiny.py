"""A tiny hand-built dataset where every feature's value can be worked out by hand.

One small story per family, each on its own entities (P1 cash, flows and geography; P2 crypto;
C1 business; P3 wealth; N1-N3 and O1 networks; R1 reports). Times are counted in days before
``AS_OF``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from flowrisk.schema import INPUT_TABLES, TABLES

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def day_ago(days: int) -> date:
    return (AS_OF - timedelta(days=days)).date()


ENTITIES = [
    {"entity_id": "P1", "entity_type": "person", "country": "FR", "declared_income": 30_000.0},
    {"entity_id": "P2", "entity_type": "person", "country": "FR", "declared_income": 30_000.0},
    {"entity_id": "P3", "entity_type": "person", "country": "FR", "declared_income": 20_000.0},
    {"entity_id": "P4", "entity_type": "person", "country": "FR", "declared_income": 25_000.0},
    {
        "entity_id": "C1",
        "entity_type": "company",
        "country": "FR",
        "sector_code": "56.10C",
        "employees": 2,
        "declared_revenue": 200_000.0,
        "registration_date": date(2020, 7, 1),
    },
    {
        "entity_id": "C2",
        "entity_type": "company",
        "country": "FR",
        "sector_code": "68.20A",
        "employees": 1,
        "declared_revenue": 50_000.0,
        "registration_date": date(2019, 1, 1),
    },
    *(
        {
            "entity_id": n,
            "entity_type": "company",
            "country": "FR",
            "sector_code": "62.01Z",
            "employees": 5,
            "declared_revenue": 500_000.0,
            "registration_date": date(2018, 1, 1),
        }
        for n in ("N1", "N2", "N3")
    ),
    {"entity_id": "O1", "entity_type": "person", "country": "FR", "declared_income": 90_000.0},
    {"entity_id": "O2", "entity_type": "person", "country": "FR", "declared_income": 90_000.0},
    {"entity_id": "R1", "entity_type": "person", "country": "FR", "declared_income": 40_000.0},
]


def _acc(
    account_id: str,
    entity: str | None,
    kind: str,
    country: str = "FR",
    tags: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "entity_id": entity,
        "account_type": kind,
        "country": country,
        "institution_id": "FRBANK01",
        "risk_tags": tags or [],
    }


ACCOUNTS = [
    _acc("A1", "P1", "current"),
    _acc("A1b", "P1", "current"),
    _acc("XW", None, "external"),
    _acc("XHR", None, "external", "IR"),
    _acc("A2", "P2", "current"),
    _acc("EX2", "P2", "crypto_exchange"),
    _acc("W2", "P2", "crypto_wallet"),
    _acc("WM", None, "crypto_wallet", tags=["mixer"]),
    _acc("WR", None, "crypto_wallet"),
    _acc("WG", None, "crypto_wallet", tags=["gambling"]),
    _acc("AC1", "C1", "business"),
    _acc("XACQ", None, "external"),
    _acc("XSUP", None, "external"),
    _acc("A3", "P3", "current"),
    _acc("XM", None, "external"),
    _acc("AN1", "N1", "business"),
    _acc("AN2", "N2", "business"),
    _acc("AN3", "N3", "business"),
]

_T: list[tuple[str | None, str | None, float, str, float, str, str | None]] = [
    # src, dst, amount, channel, days before AS_OF, currency, branch
    # P1: cash, flows, geography
    (None, "A1", 9_500.0, "cash", 10, "EUR", "BR01"),
    (None, "A1b", 900.0, "cash", 40, "EUR", "BR02"),
    (None, "A1", 500.0, "cash", 200, "EUR", "BR01"),
    ("A1", None, 200.0, "cash", 5, "EUR", "BR03"),
    ("XW", "A1", 2_000.0, "wire", 20, "EUR", None),
    ("A1", "XHR", 950.0, "remittance", 15, "USD", None),
    (None, "A1", 5_000.0, "cash", -3, "EUR", "BR01"),  # after AS_OF: never counted
    (None, "A1", 400.0, "cash", 400, "EUR", "BR01"),  # beyond a year
    # P2: crypto
    (None, "A2", 4_000.0, "cash", 10, "EUR", "BR05"),
    ("A2", "EX2", 3_900.0, "wire", 9, "EUR", None),
    ("EX2", "W2", 3_800.0, "crypto", 8, "BTC", None),
    ("W2", "WM", 1_000.0, "crypto", 7, "BTC", None),
    ("W2", "WR", 500.0, "crypto", 7, "BTC", None),
    ("WR", "WM", 490.0, "crypto", 6, "BTC", None),
    ("WM", "W2", 900.0, "crypto", 5, "USDT", None),
    ("W2", "WG", 100.0, "crypto", 4, "USDT", None),
    ("EX2", "A2", 700.0, "wire", 2, "EUR", None),
    # C1: business
    (None, "AC1", 6_000.0, "cash", 30, "EUR", "BR07"),
    ("XACQ", "AC1", 4_000.0, "card", 29, "EUR", None),
    ("AC1", "XSUP", 2_000.0, "wire", 20, "EUR", None),
    (None, "AC1", 3_000.0, "cash", 60, "EUR", "BR07"),
    # P3: wealth
    ("A3", "XM", 1_000.0, "card", 10, "EUR", None),
    ("XW", "A3", 1_500.0, "wire", 20, "EUR", None),
    (None, "A3", 500.0, "cash", 5, "EUR", "BR09"),
    # N1-N3: a triangle and a back-and-forth
    ("AN1", "AN2", 5_000.0, "wire", 30, "EUR", None),
    ("AN2", "AN3", 4_000.0, "wire", 29, "EUR", None),
    ("AN3", "AN1", 3_000.0, "wire", 28, "EUR", None),
    ("AN2", "AN1", 1_500.0, "wire", 10, "EUR", None),
    ("AN1", "AN2", 500.0, "wire", 9, "EUR", None),  # under 1,000 EUR: not a round trip
]


def _transactions() -> list[dict[str, Any]]:
    return [
        {
            "txn_id": i + 1,
            "ts": ago(days),
            "src_account_id": src,
            "dst_account_id": dst,
            "amount": amount,
            "channel": channel,
            "currency_original": cur,
            "branch_id": branch,
        }
        for i, (src, dst, amount, channel, days, cur, branch) in enumerate(_T)
    ]


ASSETS = [
    {
        "asset_id": "AS1",
        "entity_id": "P3",
        "asset_type": "vehicle",
        "acquired_at": day_ago(100),
        "value": 30_000.0,
        "payment_method": "transfer",
    },
    {
        "asset_id": "AS2",
        "entity_id": "P4",
        "asset_type": "real_estate",
        "acquired_at": day_ago(400),
        "value": 100_000.0,
        "payment_method": "cash",
    },
    {
        "asset_id": "AS3",
        "entity_id": "C2",
        "asset_type": "luxury_goods",
        "acquired_at": day_ago(50),
        "value": 20_000.0,
        "payment_method": "cash",
    },
    {
        "asset_id": "AS4",
        "entity_id": "P3",
        "asset_type": "boat",
        "acquired_at": day_ago(1500),
        "value": 50_000.0,
        "payment_method": "transfer",
    },
    {
        "asset_id": "AS5",
        "entity_id": "P3",
        "asset_type": "vehicle",
        "acquired_at": day_ago(-10),
        "value": 80_000.0,
        "payment_method": "cash",
    },
]

OWNERSHIP = [
    {"owner_entity_id": "P3", "owned_entity_id": "P4", "role": "relative"},
    {
        "owner_entity_id": "P3",
        "owned_entity_id": "C2",
        "role": "beneficial_owner",
        "share_pct": 100.0,
        "since": date(2020, 1, 1),
    },
    {
        "owner_entity_id": "O1",
        "owned_entity_id": "N1",
        "role": "beneficial_owner",
        "share_pct": 60.0,
        "since": date(2018, 1, 1),
    },
    {
        "owner_entity_id": "O1",
        "owned_entity_id": "N2",
        "role": "beneficial_owner",
        "share_pct": 70.0,
        "since": date(2018, 1, 1),
    },
    {
        "owner_entity_id": "O2",
        "owned_entity_id": "N3",
        "role": "beneficial_owner",
        "share_pct": 100.0,
        "since": date(2018, 1, 1),
    },
]

REPORTS = [
    {
        "report_id": "R-1",
        "entity_id": "R1",
        "declarant_id": "BANK-A",
        "reported_at": ago(10),
        "category": "suspicious_activity",
    },
    {
        "report_id": "R-2",
        "entity_id": "R1",
        "declarant_id": "BANK-B",
        "reported_at": ago(100),
        "category": "cash_threshold",
    },
    {
        "report_id": "R-3",
        "entity_id": "R1",
        "declarant_id": "BANK-A",
        "reported_at": ago(400),
        "category": "suspicious_activity",
    },
    {
        "report_id": "R-4",
        "entity_id": "R1",
        "declarant_id": "BANK-C",
        "reported_at": ago(-5),
        "category": "suspicious_activity",
    },
    {
        "report_id": "R-5",
        "entity_id": "N3",
        "declarant_id": "BANK-A",
        "reported_at": ago(50),
        "category": "suspicious_activity",
    },
    {
        "report_id": "R-6",
        "entity_id": "O1",
        "declarant_id": "NOTARY-01",
        "reported_at": ago(70),
        "category": "asset_purchase",
    },
]


def tiny_frames() -> dict[str, pl.LazyFrame]:
    """The tiny dataset as the data model's frames."""
    rows = {
        "entities": ENTITIES,
        "accounts": ACCOUNTS,
        "transactions": _transactions(),
        "assets": ASSETS,
        "ownership": OWNERSHIP,
        "reports": REPORTS,
    }
    return {t: pl.DataFrame(rows[t], schema=TABLES[t].schema).lazy() for t in INPUT_TABLES}


def cases(expected: dict[str, dict[str, float | None]]) -> list[tuple[str, str]]:
    """(entity, feature) of every hand-worked value, for ``pytest.mark.parametrize``."""
    return [(e, f) for e, feats in expected.items() for f in feats]


def assert_value(profiles: pl.DataFrame, entity: str, feature: str, expected: float | None) -> None:
    """The profile value of ``entity`` is the hand-worked ``expected`` (None: no value)."""
    value = profiles.filter(pl.col("entity_id") == entity)[feature].item()
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)
