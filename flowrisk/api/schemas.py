"""Request and response models of the scoring service. Requests carry the data contracts'
constraints (ids of 1 to 64 characters, positive finite amounts under the contracts' ceiling,
known enum values, ISO country codes, timezone-aware times) with strict types: no booleans or
strings as numbers, no NaN or infinity; lists and strings are bounded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import core_schema

from flowrisk.data_contracts.rule import (
    AMOUNT_CEILING,
    EARLIEST,
    EARLIEST_BIRTH_YEAR,
    EMPLOYEES_MAX,
    ID_MAX,
    MONEY_CEILING,
    NAF_PATTERN,
    NAME_MAX,
)
from flowrisk.schema import (
    ACCOUNT_TYPES,
    ASSET_TYPES,
    BANDS,
    CHANNELS,
    ENTITY_TYPES,
    OWNERSHIP_ROLES,
    PAYMENT_METHODS,
    REPORT_CATEGORIES,
    RISK_TAGS,
)

__all__ = [
    "AccountIn",
    "AssetIn",
    "BatchRequest",
    "BatchResponse",
    "EntityIn",
    "ModelInfo",
    "OwnershipIn",
    "Problem",
    "ReportIn",
    "ScoreRequest",
    "ScoreResponse",
    "TransactionIn",
]

MAX_ACCOUNTS = 500
MAX_ASSETS = 500
MAX_REPORTS = 500
MAX_OWNERSHIP = 500

# The vocabularies of flowrisk.schema as Literal types (``Literal[("a", "b")]`` is
# ``Literal["a", "b"]``): pydantic-core checks them and OpenAPI lists them as enums; mypy, which
# cannot read a Literal built from a tuple, sees strings.
if TYPE_CHECKING:
    EntityType: TypeAlias = str
    AccountType: TypeAlias = str
    RiskTag: TypeAlias = str
    Channel: TypeAlias = str
    AssetType: TypeAlias = str
    PaymentMethod: TypeAlias = str
    OwnershipRole: TypeAlias = str
    ReportCategory: TypeAlias = str
    Band: TypeAlias = str
else:
    EntityType = Literal[ENTITY_TYPES]
    AccountType = Literal[ACCOUNT_TYPES]
    RiskTag = Literal[RISK_TAGS]
    Channel = Literal[CHANNELS]
    AssetType = Literal[ASSET_TYPES]
    PaymentMethod = Literal[PAYMENT_METHODS]
    OwnershipRole = Literal[OWNERSHIP_ROLES]
    ReportCategory = Literal[REPORT_CATEGORIES]
    Band = Literal[BANDS]

Id = Annotated[StrictStr, Field(min_length=1, max_length=ID_MAX, pattern=r"^[^\s]+$")]
Country = Annotated[StrictStr, Field(pattern=r"^[A-Z]{2}$")]


def _past_date(value: date) -> date:
    if value > datetime.now(UTC).date():
        raise ValueError("is in the future")
    return value


def _past_year(value: int) -> int:
    if value > datetime.now(UTC).year:
        raise ValueError("is after this year")
    return value


PastDate = Annotated[date, AfterValidator(_past_date)]
# checked in pydantic-core (a Python validator cost 2 µs a transaction, most of a request's
# validation time): timezone-aware, not before the earliest dataset, not in the future
PastTime = Annotated[
    datetime,
    GetPydanticSchema(
        lambda _type, _handler: core_schema.datetime_schema(
            tz_constraint="aware", now_op="past", ge=EARLIEST
        )
    ),
]
Money = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MONEY_CEILING)]
Amount = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=AMOUNT_CEILING)]


class _In(BaseModel):
    # numbers and booleans are strict field by field (no "12" or true as a number); dates and
    # times still parse from their ISO strings
    model_config = ConfigDict(extra="forbid")


class EntityIn(_In):
    entity_id: Id
    entity_type: EntityType
    name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    country: Country
    birth_year: (
        Annotated[StrictInt, Field(ge=EARLIEST_BIRTH_YEAR), AfterValidator(_past_year)] | None
    ) = None
    registration_date: PastDate | None = None
    closure_date: date | None = None
    sector_code: Annotated[str, Field(pattern=NAF_PATTERN)] | None = None
    employees: Annotated[StrictInt, Field(ge=0, le=EMPLOYEES_MAX)] | None = None
    declared_income: Money | None = None
    declared_revenue: Money | None = None
    is_pep: StrictBool | None = None

    @model_validator(mode="after")
    def _closed_after_registered(self) -> EntityIn:
        if (
            self.closure_date
            and self.registration_date
            and self.closure_date < self.registration_date
        ):
            raise ValueError("closure_date is before registration_date")
        return self


class AccountIn(_In):
    account_id: Id
    entity_id: Id | None = None  # null: a counterparty outside the dataset
    institution_id: Id | None = None
    account_type: AccountType
    country: Country | None = None
    opened_at: PastDate | None = None
    risk_tags: Annotated[list[RiskTag], Field(max_length=len(RISK_TAGS))] = []


class TransactionIn(_In):
    txn_id: Annotated[StrictInt, Field(ge=0, le=2**62)]
    ts: PastTime
    src_account_id: Id | None = None  # null: cash paid in
    dst_account_id: Id | None = None  # null: cash taken out
    amount: Amount
    channel: Channel
    currency_original: Annotated[str, Field(pattern=r"^[A-Z0-9]{3,5}$")] = "EUR"
    branch_id: Id | None = None


class AssetIn(_In):
    asset_id: Id
    entity_id: Id
    asset_type: AssetType
    acquired_at: PastDate
    value: Amount
    payment_method: PaymentMethod


class OwnershipIn(_In):
    owner_entity_id: Id
    owned_entity_id: Id
    role: OwnershipRole
    share_pct: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=100)] | None = None
    since: date | None = None


class ReportIn(_In):
    report_id: Id
    entity_id: Id
    declarant_id: Id
    reported_at: PastTime
    category: ReportCategory


class ScoreRequest(_In):
    """Everything known about one entity, scored as of ``as_of`` (events strictly before)."""

    as_of: AwareDatetime
    entity: EntityIn
    accounts: Annotated[list[AccountIn], Field(min_length=1, max_length=MAX_ACCOUNTS)]
    # bounded by the request-size limit and, with a 413, by FLOWRISK_API_MAX_TRANSACTIONS
    transactions: list[TransactionIn]
    assets: Annotated[list[AssetIn], Field(max_length=MAX_ASSETS)] = []
    ownership: Annotated[list[OwnershipIn], Field(max_length=MAX_OWNERSHIP)] = []
    reports: Annotated[list[ReportIn], Field(max_length=MAX_REPORTS)] = []


class BatchRequest(_In):
    items: Annotated[list[ScoreRequest], Field(min_length=1, max_length=1_000)]


class Reason(BaseModel):
    family: str
    typology: str
    feature: str
    direction: Literal["raises", "lowers"]
    contribution: float
    value: float
    baseline: float | None
    baseline_kind: str | None
    text: str
    evidence: list[str]


class RedFlag(BaseModel):
    flag: str
    family: str
    text: str
    evidence: list[str]


class ScoreResponse(BaseModel):
    entity_id: str
    as_of: datetime
    probability: float = Field(ge=0, le=1)
    score: float = Field(ge=0, le=100, description="0-100: the calibrated probability x 100")
    band: Band
    tags: list[str] = Field(description="Typologies the entity resembles, strongest first")
    reasons: list[Reason] | None = Field(
        None, description="Absent when the request asked for no explanation"
    )
    red_flags: list[RedFlag] | None = None
    model_version: str | None


class BatchResponse(BaseModel):
    items: list[ScoreResponse]


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ModelInfo(BaseModel):
    name: str
    uri: str
    version: str | None
    alias: str | None
    feature_set: str
    feature_set_version: str
    loaded_at: datetime
    heldout_metrics: dict[str, float]
