"""Every string key a console template asks for has its English text."""

from __future__ import annotations

import re
from pathlib import Path

from flowrisk.api.console.strings import STRINGS, t
from flowrisk.schema import ENTITY_TYPES

TEMPLATES = Path(__file__).parents[4] / "flowrisk" / "api" / "console" / "templates"


def test_every_key_used_by_a_template_has_english_text() -> None:
    used = {
        key
        for page in TEMPLATES.glob("*.html")
        for key in re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", page.read_text())
    }
    assert used, "no t() calls found"
    prefixes = {key for key in used if key.endswith(".")}  # t("type." ~ entity_type)
    assert prefixes == {"type."}
    needed = (used - prefixes) | {f"type.{kind}" for kind in ENTITY_TYPES}
    assert sorted(needed - set(STRINGS["en"])) == []


def test_a_missing_locale_or_key_falls_back() -> None:
    assert t("nav.queue", "fr") == "Queue"
    assert t("page.of", page=2, pages=9) == "Page 2 of 9"
    assert t("no.such.key") == "no.such.key"
