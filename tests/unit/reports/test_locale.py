"""Amounts, times and words of a report in English and French: Babel's formats, the reader's
zone shown, and a catalog that holds every key in both languages."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime

import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.reports.locale import SUPPORTED, day, money, number, t, when
from flowrisk.reports.messages import MESSAGES

NBSP = {"\u202f": " ", "\xa0": " "}


def plain(text: str) -> str:
    """Babel's no-break spaces as plain ones, to compare with what a reader sees."""
    return text.translate(str.maketrans(NBSP))


def test_money_reads_as_each_language_writes_it() -> None:
    assert plain(money(27_843, "fr")) == "27 843,00 €"
    assert money(27_843, "en") == "€27,843.00"
    assert plain(money(0.5, "fr")) == "0,50 €"


def test_numbers_never_read_in_scientific_notation() -> None:
    assert number(37_470.0, "en") == "37,470" and plain(number(37_470.0, "fr")) == "37 470"
    assert number(1e-7, "en", 2) == "0.00" and "e" not in number(3.747e4, "en", 2)


def test_times_are_in_the_readers_zone_with_the_zone_shown() -> None:
    winter = datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    assert when(winter, "fr") == "3 déc. 2026, 14:05 CET"
    assert when(winter, "en") == "3 Dec 2026, 13:05 UTC"
    assert when(winter, "en", "Europe/Paris") == "3 Dec 2026, 14:05 CET"
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert when(summer, "fr") == "1 juil. 2026, 14:00 CEST"
    assert when(datetime(2026, 7, 1, 12, 0), "en") == "1 Jul 2026, 12:00 UTC"  # naive is UTC
    assert day(date(2026, 12, 3), "fr") == "3 déc. 2026"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_report_string_is_in_both_languages_with_the_same_placeholders() -> None:
    assert set(MESSAGES) == set(SUPPORTED)
    en, fr = MESSAGES["en"], MESSAGES["fr"]
    assert set(en) == set(fr), set(en) ^ set(fr)
    for key in en:
        assert _fields(en[key]) == _fields(fr[key]), key
        assert en[key].strip() and fr[key].strip(), key
    assert t("evidence.many", "fr", n=3) == "3 éléments de preuve"


def test_an_unknown_language_or_key_is_refused_by_name() -> None:
    with pytest.raises(InvalidParameter, match="locale: 'de' is not supported"):
        money(1, "de")
    with pytest.raises(InvalidParameter, match="no report string 'nope' in en"):
        t("nope", "en")
