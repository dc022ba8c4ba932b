"""Request and response models of the scoring service. Requests enforce the data contracts'
rules (:mod:`flowrisk.data_contracts.declared`: a payload row the batch would quarantine is
refused with a 422 naming the field): ids of 1 to 64 characters, positive finite amounts under
the contracts' ceiling, known enum values, ISO 3166-1 alpha-2 country codes from the reference
list, dates and times within the contracts' plausible range, timestamps written as ISO 8601
text with a time zone (never an epoch number), and strict types (no booleans or strings as
numbers, no NaN or infinity); lists and strings are bounded."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import core_schema

from flowrisk.data_contracts.declared import MODERN, OLD
from flowrisk.data_contracts.rule import (
    AMOUNT_CEILING,
    AS_OF_SLACK,
    EARLIEST,
    EARLIEST_BIRTH_YEAR,
    EMPLOYEES_MAX,
    ID_MAX,
    MONEY_CEILING,
    NAF_PATTERN,
    NAME_MAX,
)
from flowrisk.reference import countries
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
_COUNTRIES = countries()  # the contracts' list (official codes and XK): ``ZZ`` is not one


def _iso_country(value: str) -> str:
    if value not in _COUNTRIES:
        raise ValueError("is not an ISO 3166-1 alpha-2 country code")
    return value


Country = Annotated[
    StrictStr,
    Field(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 code of the reference list, e.g. FR (XK for Kosovo)",
    ),
    AfterValidator(_iso_country),
]


def _not_after_today(value: date) -> date:
    if value > datetime.now(UTC).date():
        raise ValueError("is in the future")
    return value


def _past_year(value: int) -> int:
    if value > datetime.now(UTC).year:
        raise ValueError("is after this year")
    return value


def _text_or(kind: type, pattern: str, what: str) -> core_schema.CoreSchema:
    """ISO text matching ``pattern`` (or, from Python, an instance of ``kind``): an epoch
    number, a boolean or free text is refused before any parsing, as the contracts' type rules
    refuse them."""
    return core_schema.union_schema(
        [
            core_schema.str_schema(strict=True, pattern=pattern),
            core_schema.is_instance_schema(kind),
        ],
        custom_error_type=f"{kind.__name__}_text",
        custom_error_message=f"Input should be {what}",
    )


_TIME_TEXT = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}"
_TIME_WHAT = "an ISO 8601 timestamp string with a time zone, e.g. 2025-01-31T09:30:00+00:00"
_DAY_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_STAMP = "ISO 8601 timestamp with a time zone (text, never an epoch number)"


def _time(lo: datetime, *, past: bool) -> Any:
    """A timestamp, checked in pydantic-core (a Python validator cost 2 µs a transaction, most
    of a request's validation time): ISO text, timezone-aware, not before ``lo``, not in the
    future when ``past``."""
    limits: dict[str, Any] = {"tz_constraint": "aware", "ge": lo}
    if past:
        limits["now_op"] = "past"
    schema = core_schema.chain_schema(
        [_text_or(datetime, _TIME_TEXT, _TIME_WHAT), core_schema.datetime_schema(**limits)]
    )
    return GetPydanticSchema(lambda _type, _handler: schema)


def _day(lo: date) -> Any:
    """A calendar day: ISO ``YYYY-MM-DD`` text, not before ``lo``."""
    schema = core_schema.chain_schema(
        [_text_or(date, _DAY_TEXT, "an ISO 8601 date string, e.g. 2025-01-31"),
         core_schema.date_schema(ge=lo)]
    )  # fmt: skip
    return GetPydanticSchema(lambda _type, _handler: schema)


def _json(kind: str, description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "format": kind, "description": description})


_FIRST_EVENT = datetime.combine(MODERN, time(), UTC)  # reports: the contracts' earliest event
# the contracts' bounds, per column (declared.py): ``Day(OLD)`` is "from 1800 to today"
Day = Annotated[date, _day(date(1, 1, 1)), _json("date", "ISO 8601 date (YYYY-MM-DD)")]
OldDay = Annotated[
    date,
    _day(OLD),
    AfterValidator(_not_after_today),
    _json("date", f"ISO 8601 date, from {OLD}, not in the future"),
]
ModernDay = Annotated[
    date,
    _day(MODERN),
    AfterValidator(_not_after_today),
    _json("date", f"ISO 8601 date, from {MODERN}, not in the future"),
]
EventTime = Annotated[
    datetime,
    _time(EARLIEST, past=True),
    _json("date-time", f"{_STAMP}, from {EARLIEST:%Y-%m-%d}, not in the future"),
]
ReportTime = Annotated[
    datetime,
    _time(_FIRST_EVENT, past=True),
    _json("date-time", f"{_STAMP}, from {_FIRST_EVENT:%Y-%m-%d}, not in the future"),
]


def _not_far_ahead(value: datetime) -> datetime:
    latest = datetime.now(UTC) + AS_OF_SLACK
    if value > latest:
        raise ValueError(f"is after {latest:%Y-%m-%dT%H:%M}Z (now + {AS_OF_SLACK})")
    return value


AsOf = Annotated[
    datetime,
    _time(EARLIEST, past=False),
    AfterValidator(_not_far_ahead),
    _json(
        "date-time",
        f"Score as of this instant (events strictly before it count): {_STAMP}, from "
        f"{EARLIEST:%Y-%m-%d} to now + {AS_OF_SLACK.days} day",
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
    registration_date: OldDay | None = None
    closure_date: Day | None = None
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
    opened_at: ModernDay | None = None
    risk_tags: Annotated[list[RiskTag], Field(max_length=len(RISK_TAGS))] = []


class TransactionIn(_In):
    txn_id: Annotated[StrictInt, Field(ge=0, le=2**62)]
    ts: EventTime
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
    acquired_at: ModernDay
    value: Amount
    payment_method: PaymentMethod | None = None


class OwnershipIn(_In):
    owner_entity_id: Id
    owned_entity_id: Id
    role: OwnershipRole
    share_pct: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=100)] | None = None
    since: OldDay | None = None


class ReportIn(_In):
    report_id: Id
    entity_id: Id
    declarant_id: Id
    reported_at: ReportTime
    category: ReportCategory | None = None


class ScoreRequest(_In):
    """Everything known about one entity, scored as of ``as_of`` (events strictly before)."""

    as_of: AsOf
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
    merged: list[str] = Field(
        default_factory=list,
        description="features of reasons backed by the same red flag, merged into this one",
    )


class RedFlag(BaseModel):
    flag: str
    family: str
    text: str
    evidence: list[str]


class ScoreResponse(BaseModel):
    entity_id: str
    as_of: datetime
    probability: float = Field(
        gt=0,
        lt=1,
        description="Calibrated probability of laundering, strictly increasing in the model's "
        "output and never 0 or 1 (bounded by what the validation data supports)",
    )
    score: float = Field(
        ge=0,
        le=100,
        description="0-100, five decimals: the calibrated probability on a log-odds scale "
        "from the model's floor (0) to its ceiling (100); equal steps are equal factors of the "
        "odds. The band is set on this displayed score, so a higher score never has a lower band",
    )
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
