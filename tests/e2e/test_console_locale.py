"""The console in French in a real headless Chromium: an analyst presses "Français" in the
header, and the queue, a case opened from its top alert and the entity page read in French
(amounts as ``27 843,00 €``, times in Europe/Paris with the zone shown); the choice is a
cookie scripts cannot read and survives signing out and in again."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.console import LiveConsole
from tests.e2e.console import shot as _shot
from tests.e2e.console import sign_in as _sign_in

pytestmark = pytest.mark.slow
FRENCH_TIME = re.compile(r"\d{1,2} [a-zéû]+\.? \d{4}, \d{2}:\d{2} CES?T")


def test_an_analyst_reads_the_console_in_french(page: Any, live: LiveConsole) -> None:
    _sign_in(page, live, "analyst")
    page.fill("#purpose", "case E2E-2026-20")
    page.click("main button[type=submit]")
    assert page.url.endswith("/ui/queue")
    page.click("form.locale button[value=fr]")
    assert page.url.endswith("/ui/queue")
    assert page.get_attribute("html", "lang") == "fr"
    assert page.locator("h1").inner_text() == "File d'alertes"
    cookie = {c["name"]: c for c in page.context.cookies()}["flowrisk_locale"]
    assert cookie["value"] == "fr" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert re.search(
        r"\d+,\d{2}", page.locator("table.queue tbody td:nth-child(5)").first.inner_text()
    )
    _shot(page, "queue-fr")

    # the third alert: the other browser tests share this service and open cases on the first
    row = page.locator("table.queue tbody tr").nth(2)
    entity = row.locator("td:nth-child(2) a").inner_text()
    row.locator("form.open-case button").click()
    case_id = page.url.rsplit("/", 1)[-1]
    assert page.locator("h1").inner_text() == f"Dossier {case_id}"
    page.fill("textarea[name=text]", "Dépôts fractionnés sur trois agences")
    page.click("text=Ajouter la note")
    timeline = page.inner_text("ol.timeline")
    assert "a ouvert le dossier" in timeline and "a écrit une note" in timeline
    assert FRENCH_TIME.search(timeline)
    _shot(page, "case-fr")

    page.goto(f"{live.url}/ui/entities/{entity}")
    body = page.inner_text("main")
    assert "Signaux d'alerte" in body and "Réseau financier" in body
    assert re.search(r"\d{1,3}(?:[\u202f\xa0 ]\d{3})*,\d{2}[\xa0 ]€", body)
    _shot(page, "entity-fr")

    page.click("text=Se déconnecter")
    assert page.get_attribute("html", "lang") == "fr"  # the sign-in form, still in French
    assert page.locator("h1").inner_text() == "Connexion"
    page.click("form.locale button[value=en]")
    assert page.locator("h1").inner_text() == "Sign in"
