"""The console in French and English, chosen per analyst: the switch in the header (and on the
sign-in page) keeps the choice in a cookie scripts cannot read, every page follows it (the
queue, an entity page, a case page: words, ``27 843,00 €`` amounts, times in Europe/Paris with
the zone shown), ``FLOWRISK_LOCALE`` is the default, and a language the console does not speak
is refused by name (real app, real SQLite store, the trained session world and its model)."""

from __future__ import annotations

import html as markup
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.console.auth import LOCALE_COOKIE
from flowrisk.api.service import ModelHolder
from flowrisk.cases import CaseStore
from flowrisk.models.registry import Bundle
from flowrisk.models.scoring import DatasetSource, Loaded
from tests.conftest import TrainedWorld
from tests.unit.api.console.conftest import form_token, set_purpose, sign_in, write_run
from tests.unit.api.console.test_entity_view import _flagged as flagged

# Babel's French amounts: narrow no-break spaces between thousands, a no-break space before €
FRENCH_MONEY = re.compile(r"\d{1,3}(?:\u202f\d{3})+,\d{2}\xa0€")
FRENCH_TIME = re.compile(r"\d{1,2} [a-zéû]+\.? \d{4}, \d{2}:\d{2} CES?T")
ENGLISH_TIME = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC")


@dataclass
class Site:
    config: ApiConfig
    key: str
    entity: str  # a laundering entity with a red flag backed by transactions

    def client(self, locale: str | None = None) -> TestClient:
        """A browser signed in as an analyst with a case reference; ``locale`` chosen with
        the header's switch when given."""
        client = TestClient(
            create_app(self.config), base_url="https://testserver", raise_server_exceptions=False
        )
        assert sign_in(client, self.key).status_code == 303
        assert set_purpose(client, "case 2026-204").status_code == 303
        if locale:
            assert choose(client, locale).status_code == 303
        return client


def text(client: TestClient, path: str) -> str:
    """The page at ``path`` as the browser reads it (entities like ``&#39;`` decoded)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return markup.unescape(page.text)


def choose(client: TestClient, locale: str, page: str = "/ui/queue", **extra: str) -> Any:
    """Press the header's language button on ``page``."""
    html = client.get(page).text
    data = {"locale": locale, "csrf": form_token(html), "next": page, **extra}
    return client.post("/ui/locale", data=data, follow_redirects=False)


@pytest.fixture(scope="module")
def site(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Site:
    t = trained_world
    home = tmp_path_factory.mktemp("console_locale")
    bundle = Bundle(
        model=t.model, baselines=t.baselines, uri="models:/flowrisk@champion", version="3"
    )
    holder = ModelHolder("models:/flowrisk@champion", lambda uri: (bundle, {}), lambda _: None)
    cases = CaseStore(f"sqlite:///{home / 'audit.db'}")
    entities = pl.read_parquet(t.folder / "entities.parquet")
    run = write_run(home / "scores", entities, t.folder)
    config = ApiConfig(
        store=cases.audit,
        cases=cases,
        holder=holder,
        dataset=DatasetSource(t.folder, t.as_of),
        scores=run,
    )
    key = cases.audit.create_key("analyst", "ana")[1]
    loaded = Loaded(bundle=bundle, loaded_at=datetime.now(UTC), metrics={})
    entity = flagged(DatasetSource(t.folder, t.as_of), loaded, t)  # transactions dated on its page
    return Site(config, key, entity)


@pytest.fixture(scope="module")
def french(site: Site) -> TestClient:
    return site.client("fr")


def test_the_switch_keeps_the_choice_in_a_cookie_scripts_cannot_read(site: Site) -> None:
    client = site.client()
    assert '<html lang="en">' in client.get("/ui/queue").text
    chosen = choose(client, "fr", "/ui/search?q=x")
    assert chosen.status_code == 303 and chosen.headers["location"] == "/ui/search?q=x"
    cookie = chosen.headers["set-cookie"].lower()
    assert cookie.startswith(f"{LOCALE_COOKIE}=fr;")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
    rows = list(site.config.store.audit_rows())
    assert rows[-1]["actor"] == "console:locale fr" and rows[-1]["status"] == 200
    for path in ("/ui/queue", "/ui/search?q=a", "/ui/cases", "/ui/purpose"):
        page = client.get(path)
        assert page.status_code == 200 and '<html lang="fr">' in page.text, path
    assert "Se déconnecter" in client.get("/ui/cases").text
    assert choose(client, "en").status_code == 303
    assert '<html lang="en">' in client.get("/ui/cases").text


def test_a_french_analyst_sees_the_queue_in_french(french: TestClient) -> None:
    html = text(french, "/ui/queue")
    assert "<h1>File d'alertes</h1>" in html and "Motif principal" in html
    assert "Calcul du 2 janv. 2026, 04:04 CET" in html  # the run finished at 03:04 UTC
    assert "au 1 janv. 2026" in html and "ouvrir un dossier" in html
    scores = re.findall(r'<td class="num">(\d+,\d{2})</td>', html)
    assert scores, "scores written with a decimal comma"
    assert re.search(r'class="badge band-critical">critique<', html)
    assert "fractionnement" in html and "Référence du dossier :" in html
    for english in ("Alert queue", "Main reason", "Sign out", "open a case", ">critical<"):
        assert english not in html, english


def test_a_french_analyst_sees_an_entity_page_in_french(site: Site, french: TestClient) -> None:
    html = text(french, f"/ui/entities/{site.entity}")
    assert "Signaux d'alerte" in html and "Réseau financier" in html
    assert FRENCH_MONEY.search(html), "amounts written the French way"
    assert FRENCH_TIME.search(html), "times in Europe/Paris with their zone"
    assert "€" in html and not re.search(r"€\d", html)  # never €27,843.00
    assert not ENGLISH_TIME.search(html) and " UTC<" not in html


def test_a_french_analyst_sees_a_case_page_in_french(site: Site, french: TestClient) -> None:
    queue = french.get("/ui/queue").text
    opened = french.post(
        "/ui/cases",
        data={"csrf": form_token(queue), "entity_id": site.entity,
              "run": "2026-01-02T00:00:00+00:00", "score": "27843.5", "band": "critical"},
        follow_redirects=False,
    )  # fmt: skip
    assert opened.status_code == 303
    where = opened.headers["location"]
    page = french.get(where).text
    note = french.post(f"{where}/note", data={"csrf": form_token(page), "text": "vu"})
    assert note.status_code == 200
    dismissed = french.post(
        f"{where}/disposition",
        data={"csrf": form_token(page), "reason_code": "false_positive", "note": "paie"},
    )
    html = markup.unescape(dismissed.text)
    case_id = where.rsplit("/", 1)[-1]
    assert f"<h1>Dossier {case_id}</h1>" in html and "Historique" in html
    assert "a ouvert le dossier" in html and "a écrit une note" in html
    assert "l'a clos comme classé (fausse alerte)" in html
    assert "score 27\u202f843,50" in html and "critique" in html
    assert "calcul 2 janv. 2026, 01:00 CET" in html  # the alert's run, named by its time
    assert len(FRENCH_TIME.findall(html)) >= 4  # opened, decided, and each event of the timeline
    for english in ("Timeline", "Assignee", "opened the case", "wrote a note", "Case "):
        assert english not in html, english
    listed = text(french, "/ui/cases")
    assert "Motif de clôture" in listed and "fausse alerte" in listed
    assert FRENCH_TIME.search(listed)


def test_an_english_analyst_sees_utc_times_and_english_amounts(site: Site) -> None:
    html = site.client("en").get(f"/ui/entities/{site.entity}").text
    assert "Red flags" in html and re.search(r"€\d{1,3}(,\d{3})+\.\d{2}", html)
    assert ENGLISH_TIME.search(html) and not FRENCH_TIME.search(html)


def test_an_unsupported_language_is_refused_by_name(site: Site) -> None:
    client = site.client()
    refused = choose(client, "de")
    assert refused.status_code == 400 and "set-cookie" not in refused.headers
    assert "locale: “de” is not supported; use one of en, fr." in refused.text
    rows = list(site.config.store.audit_rows())
    assert rows[-1]["actor"] == "console:locale refused" and rows[-1]["status"] == 400
    stale = client.post("/ui/locale", data={"locale": "fr", "csrf": "nope"})
    assert stale.status_code == 403 and "set-cookie" not in stale.headers
    for value, shown in (("fr", "fr"), ("de", "en")):  # a forged cookie: the default
        client.cookies.set(LOCALE_COOKIE, value, domain="testserver.local", path="/ui")
        assert f'<html lang="{shown}">' in client.get("/ui/queue").text, value


def test_the_sign_in_page_has_the_switch_and_the_choice_outlives_the_session(
    site: Site,
) -> None:
    client = TestClient(
        create_app(site.config), base_url="https://testserver", raise_server_exceptions=False
    )
    chosen = choose(client, "fr", "/ui/sign-in?next=%2Fui%2Fcases")
    assert chosen.status_code == 303
    form = client.get(chosen.headers["location"]).text
    assert '<html lang="fr">' in form and "<h1>Connexion</h1>" in form
    assert choose(client, "fr", "/ui/sign-in", csrf="forged").status_code == 403
    assert sign_in(client, site.key).status_code == 303
    assert set_purpose(client).status_code == 303
    assert '<html lang="fr">' in client.get("/ui/queue").text


def test_flowrisk_locale_is_the_default_of_an_analyst_who_chose_none(site: Site) -> None:
    config = replace(site.config, locale="fr")
    client = TestClient(create_app(config), base_url="https://testserver")
    assert '<html lang="fr">' in client.get("/ui/sign-in").text
    assert sign_in(client, site.key).status_code == 303
    assert "Référence du dossier" in client.get("/ui/purpose").text
    assert choose(client, "en", "/ui/purpose").status_code == 303
    assert '<html lang="en">' in client.get("/ui/purpose").text
