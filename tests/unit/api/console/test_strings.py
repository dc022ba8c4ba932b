"""The console's catalog: every key a template asks for is in English and in French, both
languages hold the same keys with the same ``{placeholders}``, and the entity page's words
come from the same catalog."""

from __future__ import annotations

import re
import string
from pathlib import Path

from flowrisk.api.console.strings import STRINGS, SUPPORTED, catalog, t, words
from flowrisk.cases import REASONS, STATUSES
from flowrisk.schema import BANDS, ENTITY_TYPES, OWNERSHIP_ROLES, TYPOLOGIES

TEMPLATES = Path(__file__).parents[4] / "flowrisk" / "api" / "console" / "templates"
# t("band." ~ value): the values each prefix is completed with
PREFIXED = {
    "type.": ENTITY_TYPES,
    "band.": BANDS,
    "status.": STATUSES,
    "reason.": tuple(REASONS),
    "locale.": SUPPORTED,
    "typology.": TYPOLOGIES,
}
ERROR_PAGES = (400, 401, 403, 404, 405, 422, 429, 503)


def _used() -> set[str]:
    return {
        key
        for page in TEMPLATES.glob("*.html")
        for key in re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", page.read_text())
    }


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_used_by_a_template_is_in_both_languages() -> None:
    used = _used()
    assert used, "no t() calls found"
    prefixes = {key for key in used if key.endswith(".")}
    assert prefixes == set(PREFIXED)
    needed = (used - prefixes) | {p + v for p, values in PREFIXED.items() for v in values}
    needed |= {f"error.{status}" for status in ERROR_PAGES}
    for locale in SUPPORTED:
        assert sorted(needed - set(STRINGS[locale])) == [], locale


def test_both_languages_hold_the_same_keys_and_placeholders() -> None:
    assert set(STRINGS) == set(SUPPORTED) == {"en", "fr"}
    en, fr = STRINGS["en"], STRINGS["fr"]
    assert set(en) == set(fr), set(en) ^ set(fr)
    for key in en:
        assert _fields(en[key]) == _fields(fr[key]), key
        assert en[key].strip() and fr[key].strip(), key
    assert t("page.of", "fr", page=2, pages=9) == "Page 2 sur 9"
    assert t("page.of", page=2, pages=9) == "Page 2 of 9"


def test_the_entity_page_reads_the_same_catalog() -> None:
    page = (TEMPLATES / "entity.html").read_text()
    asked = set(re.findall(r"\bw\.([a-z_]+)", page)) | set(re.findall(r'w\["([a-z_]+)"\]', page))
    asked |= {"in", "out", *OWNERSHIP_ROLES}  # w[r.direction], w[r.role]
    for locale in SUPPORTED:
        shown = words(locale)
        assert sorted(asked - set(shown)) == [], locale
        assert all(shown[k] == catalog(locale)[f"entity.{k}"] for k in shown)
    assert words("fr")["flags"] == "Signaux d'alerte" and words("en")["flags"] == "Red flags"


def test_an_unknown_key_or_language_shows_something_readable() -> None:
    assert t("no.such.key", "fr") == "no.such.key"
    assert t("nav.queue", "de") == "Queue"  # never reached: the switch refuses "de"
