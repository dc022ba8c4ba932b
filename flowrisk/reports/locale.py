"""Amounts, dates and words of a report in the reader's language (English or French): Babel
formats money and times, :mod:`flowrisk.reports.messages` holds every report string."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from flowrisk.errors import InvalidParameter
from flowrisk.reports.messages import MESSAGES

__all__ = ["SUPPORTED", "ZONES", "check_locale", "day", "money", "number", "t", "when"]

SUPPORTED = ("en", "fr")
# the zone a reader sees times in unless one is given: the unit's own for French readers
ZONES = {"en": "UTC", "fr": "Europe/Paris"}
_BABEL = {"en": "en_GB", "fr": "fr_FR"}


def check_locale(locale: str) -> str:
    """``locale`` when supported, else :class:`InvalidParameter` naming the choices."""
    if locale not in SUPPORTED:
        raise InvalidParameter("locale", f"{locale!r} is not supported; use one of {SUPPORTED}")
    return locale


def money(value: float, locale: str, currency: str = "EUR") -> str:
    """An amount with its currency as the reader writes it: ``27 843,00 €``, ``€27,843.00``."""
    return str(format_currency(value, currency, locale=_BABEL[check_locale(locale)]))


def number(value: float, locale: str, digits: int = 0) -> str:
    """A plain number with the reader's separators and ``digits`` decimals (never ``1e+04``)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=_BABEL[check_locale(locale)]))


def when(moment: datetime, locale: str, zone: str | None = None, *, seconds: bool = False) -> str:
    """A moment in the reader's zone (Europe/Paris for French, UTC for English, or ``zone``),
    the zone shown: ``3 déc. 2026, 14:05 CET``, ``3 Dec 2026, 13:05 UTC`` (with the seconds
    when asked, as an audit trail shows them)."""
    tz = ZoneInfo(zone or ZONES[check_locale(locale)])
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz)
    pattern = "d MMM y, HH:mm:ss" if seconds else "d MMM y, HH:mm"
    text = format_datetime(local, pattern, tzinfo=tz, locale=_BABEL[locale])
    return f"{text} {local.tzname()}"


def day(value: date, locale: str) -> str:
    """A calendar date as the reader writes it: ``3 déc. 2026``, ``3 Dec 2026``."""
    return str(format_date(value, "d MMM y", locale=_BABEL[check_locale(locale)]))


def t(key: str, locale: str, **values: object) -> str:
    """The report string ``key`` in ``locale``, formatted with ``values``; an unknown key is an
    :class:`InvalidParameter` (a string missing from one language fails the tests, not a page)."""
    try:
        text = MESSAGES[check_locale(locale)][key]
    except KeyError:
        raise InvalidParameter("key", f"no report string {key!r} in {locale}") from None
    return text.format(**values) if values else text
