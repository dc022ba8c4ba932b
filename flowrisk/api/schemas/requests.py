"""The request bodies of the scoring routes: one entity and everything known about it (the rows
of the data model's tables), each field described and exemplified for the API documentation.
The examples compose (``example_of``) into a payload that scores (tested)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from flowrisk.api.schemas.fields import (
    MAX_ACCOUNTS,
    MAX_ASSETS,
    MAX_OWNERSHIP,
    MAX_REPORTS,
    AccountType,
    Amount,
    AsOf,
    AssetType,
    Channel,
    Country,
    Day,
    EntityType,
    EventTime,
    Id,
    ModernDay,
    Money,
    OldDay,
    OwnershipRole,
    PaymentMethod,
    ReportCategory,
    ReportTime,
    RiskTag,
    example_of,
    past_year,
    rule_of,
)
from flowrisk.data_contracts.rule import EARLIEST_BIRTH_YEAR, EMPLOYEES_MAX, NAF_PATTERN, NAME_MAX
from flowrisk.schema import RISK_TAGS

__all__ = [
    "AccountIn",
    "AssetIn",
    "BatchRequest",
    "EntityIn",
    "OwnershipIn",
    "ReportIn",
    "ScoreRequest",
    "TransactionIn",
]

_PERSON, _ACCOUNT, _COUNTERPARTY = "EX-P1", "EX-A1", "EX-X1"


class _In(BaseModel):
    # numbers and booleans are strict field by field (no "12" or true as a number); dates and
    # times still parse from their ISO strings
    model_config = ConfigDict(extra="forbid")


class EntityIn(_In):
    """The person or company scored."""

    entity_id: Id = Field(
        description="Identifier of the entity in your systems", examples=[_PERSON]
    )
    entity_type: EntityType = Field(description="A person or a company", examples=["person"])
    name: Annotated[str, Field(max_length=NAME_MAX)] | None = Field(
        None, description="Name of the person or company, as registered", examples=["Jeanne Roux"]
    )
    country: Country = Field(
        description=f"Country of residence or registration: {rule_of(Country)}", examples=["FR"]
    )
    birth_year: (
        Annotated[StrictInt, Field(ge=EARLIEST_BIRTH_YEAR), AfterValidator(past_year)] | None
    ) = Field(None, description="Year of birth of a person", examples=[1980])
    registration_date: OldDay | None = Field(
        None, description="Day a company was registered", examples=["2012-05-14"]
    )
    closure_date: Day | None = Field(
        None,
        description="Day a company was closed (null while it trades), not before its registration",
        examples=["2024-06-30"],
    )
    sector_code: Annotated[str, Field(pattern=NAF_PATTERN)] | None = Field(
        None, description="NACE/NAF sector of a company", examples=["56.10C"]
    )
    employees: Annotated[StrictInt, Field(ge=0, le=EMPLOYEES_MAX)] | None = Field(
        None, description="Headcount of a company", examples=[12]
    )
    declared_income: Money | None = Field(
        None, description="Yearly income a person declares, in EUR", examples=[36000.0]
    )
    declared_revenue: Money | None = Field(
        None, description="Yearly revenue a company declares, in EUR", examples=[850000.0]
    )
    is_pep: StrictBool | None = Field(
        None, description="Whether the entity is a politically exposed person", examples=[False]
    )

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
    """An account of the entity, or of a counterparty its transactions name."""

    account_id: Id = Field(description="Identifier of the account", examples=[_ACCOUNT])
    entity_id: Id | None = Field(
        None,
        description="Holder of the account: the scored entity, or null for a counterparty "
        "outside the dataset",
        examples=[_PERSON],
    )
    institution_id: Id | None = Field(
        None,
        description="Bank, exchange or wallet provider keeping the account",
        examples=["BANK-7"],
    )
    account_type: AccountType = Field(description="Kind of account", examples=["current"])
    country: Country | None = Field(
        None, description="Country where the account is kept", examples=["FR"]
    )
    opened_at: ModernDay | None = Field(
        None, description="Day the account was opened", examples=["2015-03-02"]
    )
    risk_tags: Annotated[list[RiskTag], Field(max_length=len(RISK_TAGS))] = Field(
        [],
        description="What is known against the account (a mixer, a sanctioned wallet, ...)",
        examples=[[]],
    )


class TransactionIn(_In):
    """One movement of money; at least one of its accounts belongs to the scored entity."""

    txn_id: Annotated[StrictInt, Field(ge=0, le=2**62)] = Field(
        description="Identifier of the transaction, unique in the payload", examples=[9000000001]
    )
    ts: EventTime = Field(
        description=f"When the money moved: {rule_of(EventTime)}",
        examples=["2024-10-09T16:00:00Z"],
    )
    src_account_id: Id | None = Field(
        None,
        description="Account the money left, one of `accounts`; null for cash paid in",
        examples=[None],
    )
    dst_account_id: Id | None = Field(
        None,
        description="Account the money reached, one of `accounts`; null for cash taken out",
        examples=[_ACCOUNT],
    )
    amount: Amount = Field(description="Amount in EUR, above zero", examples=[9400.0])
    channel: Channel = Field(description="How the money moved", examples=["cash"])
    currency_original: Annotated[str, Field(pattern=r"^[A-Z0-9]{3,5}$")] = Field(
        "EUR",
        description="Currency the transaction was made in (ISO 4217 or a crypto ticker)",
        examples=["EUR"],
    )
    branch_id: Id | None = Field(
        None, description="Branch where cash was paid in or taken out", examples=["BR-0042"]
    )


class AssetIn(_In):
    """An asset the entity acquired."""

    asset_id: Id = Field(description="Identifier of the asset", examples=["EX-H1"])
    entity_id: Id = Field(description="Owner of the asset: the scored entity", examples=[_PERSON])
    asset_type: AssetType = Field(description="Kind of asset", examples=["vehicle"])
    acquired_at: ModernDay = Field(
        description=f"Day it was acquired: {rule_of(ModernDay)}", examples=["2024-11-15"]
    )
    value: Amount = Field(description="Price paid, in EUR", examples=[42000.0])
    payment_method: PaymentMethod | None = Field(
        None, description="How it was paid for", examples=["transfer"]
    )


class OwnershipIn(_In):
    """A link between the entity and another: ownership, control or family."""

    owner_entity_id: Id = Field(
        description="Owner, director, shareholder, or the person whose relative the other is",
        examples=[_PERSON],
    )
    owned_entity_id: Id = Field(
        description="Company owned or controlled, or the relative", examples=["EX-C1"]
    )
    role: OwnershipRole = Field(description="Kind of link", examples=["shareholder"])
    share_pct: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=100)] | None = (
        Field(None, description="Share of the company held, in percent", examples=[40.0])
    )
    since: OldDay | None = Field(None, description="Day the link began", examples=["2019-04-01"])


class ReportIn(_In):
    """A report a declarant (a bank, a notary, ...) filed about the entity."""

    report_id: Id = Field(description="Identifier of the report", examples=["EX-R1"])
    entity_id: Id = Field(description="Entity reported: the scored entity", examples=[_PERSON])
    declarant_id: Id = Field(description="Who filed the report", examples=["BANK-7"])
    reported_at: ReportTime = Field(
        description=f"When the report was filed: {rule_of(ReportTime)}",
        examples=["2024-11-20T14:00:00+01:00"],
    )
    category: ReportCategory | None = Field(
        None, description="What the report is about", examples=["cash_threshold"]
    )


_COMPANY_ONLY = (
    "registration_date",
    "closure_date",
    "sector_code",
    "employees",
    "declared_revenue",
)
_ENTITY = {k: v for k, v in example_of(EntityIn).items() if k not in _COMPANY_ONLY}
_ACCOUNTS = [
    example_of(AccountIn),
    {"account_id": _COUNTERPARTY, "account_type": "external", "country": "DE", "risk_tags": []},
]
_TRANSACTIONS = [  # a wire from the counterparty, then the cash deposit of TransactionIn
    {"txn_id": 9000000000, "ts": "2024-10-01T09:00:00Z", "src_account_id": _COUNTERPARTY,
     "dst_account_id": _ACCOUNT, "amount": 2850.0, "channel": "wire", "currency_original": "EUR"},
    example_of(TransactionIn),
]  # fmt: skip


class ScoreRequest(_In):
    """Everything known about one entity, scored as of ``as_of`` (events strictly before)."""

    as_of: AsOf = Field(description=rule_of(AsOf), examples=["2025-01-01T00:00:00Z"])
    entity: EntityIn = Field(description="The entity scored", examples=[_ENTITY])
    accounts: Annotated[list[AccountIn], Field(min_length=1, max_length=MAX_ACCOUNTS)] = Field(
        description="The entity's accounts (at least one) and those of the counterparties "
        "its transactions name",
        examples=[_ACCOUNTS],
    )
    # bounded by the request-size limit and, with a 413, by FLOWRISK_API_MAX_TRANSACTIONS
    transactions: list[TransactionIn] = Field(
        description="The entity's transactions; at most FLOWRISK_API_MAX_TRANSACTIONS",
        examples=[_TRANSACTIONS],
    )
    assets: Annotated[list[AssetIn], Field(max_length=MAX_ASSETS)] = Field(
        [], description="Assets the entity acquired", examples=[[example_of(AssetIn)]]
    )
    ownership: Annotated[list[OwnershipIn], Field(max_length=MAX_OWNERSHIP)] = Field(
        [],
        description="Links of the entity to owners, companies and relatives",
        examples=[[example_of(OwnershipIn)]],
    )
    reports: Annotated[list[ReportIn], Field(max_length=MAX_REPORTS)] = Field(
        [], description="Reports filed about the entity", examples=[[example_of(ReportIn)]]
    )


class BatchRequest(_In):
    """Several entities, each with its own payload, scored in one request."""

    items: Annotated[list[ScoreRequest], Field(min_length=1, max_length=1_000)] = Field(
        description="One payload per entity; at most FLOWRISK_API_BATCH_MAX, each entity once",
        examples=[[example_of(ScoreRequest)]],
    )
