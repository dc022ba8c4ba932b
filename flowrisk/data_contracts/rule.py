"""One named check of a table (:class:`Rule`), what rules depend on (:class:`ContractContext`),
and the limits the contracts share with the API's payload schemas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "AMOUNT_CEILING",
    "AS_OF_SLACK",
    "EARLIEST",
    "EARLIEST_BIRTH_YEAR",
    "EMPLOYEES_MAX",
    "ID_MAX",
    "MONEY_CEILING",
    "NAF_PATTERN",
    "NAME_MAX",
    "ROW_KINDS",
    "ContractContext",
    "Rule",
]

AMOUNT_CEILING = 1e9  # one billion EUR in one transaction or asset is not a plausible record
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # no flowrisk dataset starts before this
# the latest "as of" a score may be asked for: now, give or take a clock's drift and a day's
# time zones (events come before their "as of", and no event is in the future)
AS_OF_SLACK = timedelta(days=1)
ID_MAX = 64
NAME_MAX = 512
MONEY_CEILING = 1e12  # declared yearly income or revenue above this is not a plausible record
EARLIEST_BIRTH_YEAR = 1900
EMPLOYEES_MAX = 10_000_000
NAF_PATTERN = r"^\d{2}\.\d{1,2}[A-Z]?$"  # a NACE/NAF sector code such as 56.10C

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
