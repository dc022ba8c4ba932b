"""The console's words, by key, in each language it speaks (the reports' ``SUPPORTED``: one
catalog module per language, holding the same keys): ``t(key, locale)`` gives a text with its
values filled in, ``words(locale)`` the entity page's words (its ``entity.*`` keys) as a
mapping. Every page, the entity page included, reads this one catalog."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from flowrisk.api.console import catalog_en, catalog_fr
from flowrisk.reports.locale import SUPPORTED

__all__ = ["STRINGS", "SUPPORTED", "catalog", "t", "words"]

STRINGS: dict[str, dict[str, str]] = {"en": catalog_en.WORDS, "fr": catalog_fr.WORDS}


def catalog(locale: str) -> Mapping[str, str]:
    """Every word of ``locale`` by key (English for a language the console does not speak)."""
    return STRINGS.get(locale, STRINGS["en"])


def t(key: str, locale: str = "en", **values: object) -> str:
    """The text of ``key`` in ``locale`` (else English, else the key itself: a test holds
    every key in both languages), with ``values`` filled in."""
    text = catalog(locale).get(key) or STRINGS["en"].get(key) or key
    return text.format(**values) if values else text


@cache
def words(locale: str, prefix: str = "entity.") -> Mapping[str, str]:
    """The words of ``locale`` under ``prefix``, keyed without it (``words("fr")["flags"]``)."""
    return {k.removeprefix(prefix): v for k, v in catalog(locale).items() if k.startswith(prefix)}
