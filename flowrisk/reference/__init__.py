"""Reference data shipped with flowrisk: sector profiles, jurisdiction lists, reporting thresholds.

Each set is a versioned TOML file under ``reference/data`` that names its source and date; the
loaders below parse it once and return immutable values.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import polars as pl

__all__ = [
    "Jurisdictions",
    "ReferenceList",
    "Thresholds",
    "countries",
    "jurisdictions",
    "sectors",
    "sectors_version",
    "thresholds",
]


def _load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class ReferenceList:
    """One dated list of ISO 3166-1 alpha-2 country codes and where it comes from."""

    name: str
    description: str
    as_of: str
    source: str
    countries: frozenset[str]


@dataclass(frozen=True)
class Jurisdictions:
    """The jurisdiction lists and their union."""

    version: str
    lists: dict[str, ReferenceList]

    @property
    def high_risk(self) -> frozenset[str]:
        """Countries on the FATF black or grey list or the EU high-risk list."""
        names = ("fatf_black", "fatf_grey", "eu_high_risk")
        return frozenset().union(*(self.lists[n].countries for n in names))

    @property
    def watched(self) -> frozenset[str]:
        """High-risk countries plus the watched financial hubs."""
        return self.high_risk | self.lists["hubs"].countries


@dataclass(frozen=True)
class Thresholds:
    """French reporting thresholds (EUR), the 'just under' convention, and flowrisk's cut-offs
    for red flags and rules (each one described, with its reason, in ``thresholds.toml``)."""

    version: str
    cosi_cash_monthly: float
    remittance_cash_per_operation: float
    remittance_cash_monthly: float
    cash_payment_limit: float
    near_threshold_fraction: float
    round_cash_multiple: float
    round_amount_multiple: float
    two_hop_max_degree: float
    network_edge_min: float
    cosi_min_deposits_per_month: float
    near_limit_min_deposits: float
    pass_through_ratio_low: float
    pass_through_ratio_high: float
    pass_through_flag_min_inflow: float
    pass_through_flag_min_payers: float
    pass_through_rule_min_inflow: float
    min_declarants: float
    assets_to_income: float
    rule_near_cosi_months: float
    rule_high_risk_share: float
    rule_risky_hops: float
    rule_many_payers: float
    rule_cash_share_z: float
    dormancy_min_days: float
    dormant_min_amount: float
    surge_prior_events: float
    sources: dict[str, str]
    descriptions: dict[str, str]

    def near_low(self, threshold: float) -> float:
        """The lower edge of the 'just under ``threshold``' band."""
        return self.near_threshold_fraction * threshold


@lru_cache(maxsize=1)
def jurisdictions() -> Jurisdictions:
    """Load the FATF and EU lists and the watched hubs."""
    raw = _load("jurisdictions.toml")
    lists = {
        name: ReferenceList(
            name=name,
            description=body["description"],
            as_of=body["as_of"],
            source=body["source"],
            countries=frozenset(body["countries"]),
        )
        for name, body in raw.items()
        if isinstance(body, dict)
    }
    return Jurisdictions(version=raw["version"], lists=lists)


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    """Load the reporting thresholds."""
    raw = _load("thresholds.toml")
    fields = {k: v for k, v in raw.items() if isinstance(v, dict)}
    return Thresholds(
        version=raw["version"],
        sources={k: v["source"] for k, v in fields.items()},
        descriptions={k: v["description"] for k, v in fields.items()},
        **{k: float(v["value"]) for k, v in fields.items()},
    )


@lru_cache(maxsize=1)
def _sectors() -> tuple[str, pl.DataFrame]:
    raw = _load("sectors.toml")
    frame = pl.DataFrame(
        raw["sector"],
        schema={
            "code": pl.String,
            "label": pl.String,
            "cash_intensive": pl.Boolean,
            "cash_share": pl.Float64,
            "cash_share_sd": pl.Float64,
            "revenue_per_employee": pl.Float64,
            "supplier_spend_ratio": pl.Float64,
            "typical_employees": pl.Int32,
            "seasonality": pl.Array(pl.Float64, 12),
        },
    )
    return raw["version"], frame


def sectors() -> pl.DataFrame:
    """Sector profiles, one row per NAF code (see ``reference/data/sectors.toml``)."""
    return _sectors()[1]


def sectors_version() -> str:
    """Version string of the sector profiles file."""
    return _sectors()[0]


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes accepted in data (official codes plus XK)."""
    raw = _load("countries.toml")
    return frozenset(raw["official"]) | frozenset(raw["user_assigned"])
