"""The planned world: who exists, which accounts they hold and with whom they deal.

Planning is done once for the whole world in memory (entities and accounts are small next to
transactions); transactions are then drawn chunk by chunk from this plan. Everything here is held
as NumPy arrays indexed by entity or account number, so that the flow generators stay vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum
from typing import Any

import numpy as np

from flowrisk.schema import (
    ACCOUNT_TYPES,
    ASSET_TYPES,
    CHANNELS,
    OWNERSHIP_ROLES,
    PAYMENT_METHODS,
    RISK_TAGS,
)
from flowrisk.synth.params import WorldParams

__all__ = [
    "ACCOUNT_TYPE",
    "ASSET_TYPE",
    "CHANNEL",
    "COUNTRIES",
    "CURRENCIES",
    "PAYMENT_METHOD",
    "RISK_BIT",
    "ROLE",
    "Arch",
    "Txns",
    "World",
    "bank_account_type",
    "day_of",
    "pick",
    "seconds_of",
]

DAY = 86_400
Values = np.ndarray | int | float  # an array, or a scalar broadcast to the batch length
EPOCH = date(1970, 1, 1)


def day_of(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def seconds_of(d: date) -> int:
    """Seconds since 1970-01-01 00:00 UTC."""
    return day_of(d) * DAY


class Arch(IntEnum):
    """Archetypes of the legitimate population; the guilty are drawn from them (camouflage)."""

    SALARIED = 0
    CASH_WORKER = 1
    RETIREE = 2
    STUDENT = 3
    HIGH_EARNER = 4
    CRYPTO_HOBBYIST = 5
    REMITTER = 6
    CASH_BUSINESS = 7
    ORDINARY_COMPANY = 8


# Codes of the data model's vocabularies (flowrisk.schema): the position in each enum.
CHANNEL = {name: i for i, name in enumerate(CHANNELS)}
ACCOUNT_TYPE = {name: i for i, name in enumerate(ACCOUNT_TYPES)}
ASSET_TYPE = {name: i for i, name in enumerate(ASSET_TYPES)}
PAYMENT_METHOD = {name: i for i, name in enumerate(PAYMENT_METHODS)}
ROLE = {name: i for i, name in enumerate(OWNERSHIP_ROLES)}
RISK_BIT = {name: 1 << i for i, name in enumerate(RISK_TAGS)}  # accounts hold a bit set of tags

# Countries used by the generator: France first, then EU, then the rest (ISO 3166-1 alpha-2).
COUNTRIES = (
    "FR",
    "BE",
    "DE",
    "ES",
    "IT",
    "PT",
    "NL",
    "LU",
    "CH",
    "GB",
    "US",
    "MA",
    "TN",
    "DZ",
    "SN",
    "CI",
    "CM",
    "CD",
    "NG",
    "HT",
    "VN",
    "CN",
    "TR",
    "LB",
    "AE",
    "HK",
    "PA",
    "VG",
    "CY",
    "MT",
    "SY",
    "IR",
    "KP",
    "MM",
    "KE",
    "ZA",
)
COUNTRY = {c: i for i, c in enumerate(COUNTRIES)}
EUROZONE = {"FR", "BE", "DE", "ES", "IT", "PT", "NL", "LU", "CY", "MT"}
LOCAL_CURRENCY = {
    "CH": "CHF",
    "GB": "GBP",
    "US": "USD",
    "MA": "MAD",
    "TN": "TND",
    "DZ": "DZD",
    "SN": "XOF",
    "CI": "XOF",
    "CM": "XAF",
    "CD": "CDF",
    "NG": "NGN",
    "HT": "HTG",
    "VN": "VND",
    "CN": "CNY",
    "TR": "TRY",
    "LB": "USD",
    "AE": "AED",
    "HK": "HKD",
    "PA": "USD",
    "VG": "USD",
    "SY": "USD",
    "IR": "USD",
    "KP": "USD",
    "MM": "USD",
    "KE": "KES",
    "ZA": "ZAR",
}
CURRENCIES = ("EUR", "BTC", "ETH", "USDT", "USDC", *sorted(set(LOCAL_CURRENCY.values())))
CURRENCY = {c: i for i, c in enumerate(CURRENCIES)}
# Currency index of each country's accounts, aligned with COUNTRIES.
COUNTRY_CURRENCY = np.array(
    [CURRENCY["EUR"] if c in EUROZONE else CURRENCY[LOCAL_CURRENCY[c]] for c in COUNTRIES],
    dtype=np.int16,
)


@dataclass
class Txns:
    """A batch of transactions as parallel arrays; -1 means null (cash side, unknown branch).

    ``entity``/``typology``/``scheme`` are the ground truth of scheme transactions (-1 for
    ordinary life) and never reach the inputs.
    """

    src: np.ndarray
    dst: np.ndarray
    ts: np.ndarray
    amount: np.ndarray
    channel: np.ndarray
    currency: np.ndarray
    branch: np.ndarray
    entity: np.ndarray
    typology: np.ndarray
    scheme: np.ndarray

    @classmethod
    def make(
        cls,
        src: Values,
        dst: Values,
        ts: np.ndarray,
        amount: Values,
        channel: str | np.ndarray,
        *,
        currency: Values = 0,
        branch: np.ndarray | None = None,
        entity: np.ndarray | None = None,
        typology: int = -1,
        scheme: np.ndarray | None = None,
    ) -> Txns:
        """Build a batch, broadcasting scalars to the length of ``ts``."""
        n = len(ts)

        def full(value: object, dtype: type) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

        code = CHANNEL[channel] if isinstance(channel, str) else channel
        return cls(
            src=full(src, np.int64),
            dst=full(dst, np.int64),
            ts=full(ts, np.int64),
            amount=np.round(full(amount, np.float64), 2),
            channel=full(code, np.int8),
            currency=full(currency, np.int16),
            branch=full(-1 if branch is None else branch, np.int32),
            entity=full(-1 if entity is None else entity, np.int64),
            typology=full(typology, np.int8),
            scheme=full(-1 if scheme is None else scheme, np.int64),
        )

    @classmethod
    def concat(cls, batches: list[Txns]) -> Txns:
        """Concatenate batches (an empty list gives an empty batch)."""
        names = list(cls.__dataclass_fields__)
        if not batches:
            empty = np.zeros(0, dtype=np.int64)
            return cls.make(empty, empty, empty, np.zeros(0), np.zeros(0, dtype=np.int8))
        return cls(**{n: np.concatenate([getattr(b, n) for b in batches]) for n in names})

    def __len__(self) -> int:
        return len(self.ts)

    def tagged(self, typology: int) -> Txns:
        """A copy whose every row is ground truth of the typology with stream id ``typology``."""
        return replace(self, typology=np.full(len(self), typology, dtype=np.int8))

    def take(self, index: np.ndarray) -> Txns:
        """Rows at ``index`` (a boolean mask or integer positions)."""
        names = list(self.__dataclass_fields__)
        return Txns(**{n: getattr(self, n)[index] for n in names})


def pick(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws with replacement from ``pool``."""
    return pool[rng.integers(0, len(pool), n)]


def bank_account_type(is_company: np.ndarray) -> np.ndarray:
    """Account type code of a bank account: business for companies, current for persons."""
    return np.where(is_company, ACCOUNT_TYPE["business"], ACCOUNT_TYPE["current"]).astype(np.int8)


@dataclass
class AccountBook:
    """Growing list of accounts; returns the indices of the accounts it adds."""

    entity: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    institution: list[np.ndarray] = field(default_factory=list)
    country: list[np.ndarray] = field(default_factory=list)
    opened: list[np.ndarray] = field(default_factory=list)
    tags: list[np.ndarray] = field(default_factory=list)
    size: int = 0

    def add(
        self,
        entity: np.ndarray | int,
        kind: str | np.ndarray,
        institution: np.ndarray | int,
        country: np.ndarray | int,
        opened: np.ndarray | int,
        tags: np.ndarray | int = 0,
        n: int | None = None,
    ) -> np.ndarray:
        """Add ``n`` accounts (default: the length of the longest argument); return indices.

        ``kind`` is an account type name, or an array of account type codes.
        """
        code = ACCOUNT_TYPE[kind] if isinstance(kind, str) else kind
        arrays = [
            np.shape(x)[0] for x in (entity, code, institution, country, opened, tags) if np.ndim(x)
        ]
        count = n if n is not None else (max(arrays) if arrays else 1)

        def full(value: object, dtype: type) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=dtype), (count,)).copy()

        self.entity.append(full(entity, np.int64))
        self.kind.append(full(code, np.int8))
        self.institution.append(full(institution, np.int16))
        self.country.append(full(country, np.int16))
        self.opened.append(full(opened, np.int32))
        self.tags.append(full(tags, np.uint8))
        index = np.arange(self.size, self.size + count, dtype=np.int64)
        self.size += count
        return index

    def institution_of(self, index: np.ndarray) -> np.ndarray:
        """Institution of the accounts at ``index`` (accounts added so far)."""
        return np.concatenate(self.institution)[index]

    def arrays(self) -> dict[str, np.ndarray]:
        """All accounts as parallel arrays."""
        return {
            "entity": np.concatenate(self.entity),
            "kind": np.concatenate(self.kind),
            "institution": np.concatenate(self.institution),
            "country": np.concatenate(self.country),
            "opened": np.concatenate(self.opened),
            "tags": np.concatenate(self.tags),
        }


@dataclass
class World:
    """The whole planned world: entities, accounts, relations, honest assets and schemes."""

    params: WorldParams
    # period
    start_s: int
    end_s: int
    month_start_s: np.ndarray  # months + 1 boundaries, seconds
    calendar_month: np.ndarray  # 0..11 for each simulated month
    # entities
    is_company: np.ndarray
    arch: np.ndarray
    sector: np.ndarray  # index into reference.sectors(), -1 for persons
    income: np.ndarray  # yearly declared income (persons) or NaN
    revenue: np.ndarray  # yearly real takings of honest activity (companies) or NaN
    declared_revenue: np.ndarray  # what the company declares (fronts add their dirty cash)
    employees: np.ndarray
    birth_year: np.ndarray
    registration_day: np.ndarray  # -1 = null
    closure_day: np.ndarray  # -1 = null
    country: np.ndarray
    is_pep: np.ndarray
    first_name: np.ndarray
    surname: np.ndarray
    # per-entity account pointers (-1 = none)
    acc_primary: np.ndarray
    acc_savings: np.ndarray
    acc_second: np.ndarray
    acc_exchange: np.ndarray
    acc_wallet: np.ndarray
    acc_mto: np.ndarray
    # per-entity behaviour
    employer: np.ndarray  # account paying the salary / pension / allowance
    landlord: np.ndarray  # account receiving rent
    family_abroad: np.ndarray  # foreign account receiving remittances
    home_branch: np.ndarray
    cash_share: np.ndarray  # companies: share of takings in cash
    supplier_ratio: np.ndarray  # companies: purchases / revenue
    seasonality_amp: np.ndarray  # companies: 1 = sector seasonality, 0 = flat
    owner: np.ndarray  # companies: beneficial owner (entity), -1
    # accounts
    accounts: dict[str, np.ndarray]
    institutions: tuple[str, ...]
    pools: dict[str, np.ndarray]
    # relations and honest assets (entity indices, days)
    ownership: dict[str, np.ndarray]
    assets: dict[str, np.ndarray]
    # schemes: members per typology and the groups they act in
    schemes: dict[str, SchemePlan] = field(default_factory=dict)
    # formatted ids, filled on first use by the table builders
    id_cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_entities(self) -> int:
        return len(self.arch)

    @property
    def months(self) -> int:
        return len(self.calendar_month)


@dataclass
class SchemePlan:
    """Members of one typology: entity, scheme id (a group shares one), start time, role,
    ``extra`` arrays for its injector (``asset_*`` ones are assets the assets table lists) and
    the end of each member's active life (``None``: active until the end of the period and on)."""

    entity: np.ndarray
    scheme: np.ndarray
    start_s: np.ndarray
    role: np.ndarray  # 0 = principal, 1 = helper / member of a group
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    end_s: np.ndarray | None = None
