"""The field types of the service's requests, which enforce the data contracts'
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
    Field,
    GetPydanticSchema,
    StrictStr,
    WithJsonSchema,
)
from pydantic_core import core_schema

from flowrisk.data_contracts.declared import MODERN, OLD
from flowrisk.data_contracts.rule import (
    AMOUNT_CEILING,
    AS_OF_SLACK,
    EARLIEST,
    ID_MAX,
    MONEY_CEILING,
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
    "MAX_ACCOUNTS",
    "MAX_ASSETS",
    "MAX_OWNERSHIP",
    "MAX_REPORTS",
    "AccountType",
    "Amount",
    "AsOf",
    "AssetType",
    "Band",
    "Channel",
    "Country",
    "Day",
    "EntityType",
    "EventTime",
    "Id",
    "ModernDay",
    "Money",
    "OldDay",
    "OwnershipRole",
    "PaymentMethod",
    "ReportCategory",
    "ReportTime",
    "RiskTag",
    "example_of",
    "past_year",
    "rule_of",
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


def past_year(value: int) -> int:
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


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """An example instance of ``model`` as JSON, made of the first example of each of its
    fields: the documented examples compose into documented objects (checked in the tests)."""
    return {name: field.examples[0] for name, field in model.model_fields.items() if field.examples}


def rule_of(kind: Any) -> str:
    """The documented rule of an annotated field type (``EventTime``: "ISO 8601 timestamp
    ..."), for a field's description to keep it: a field's own description replaces its type's."""
    for meta in getattr(kind, "__metadata__", ()):
        text = getattr(meta, "description", None) or getattr(meta, "json_schema", {}).get(
            "description"
        )
        if text:
            return str(text)
    raise ValueError(f"{kind!r} documents no rule")
