"""The console's words, by key and locale, so that pages hold no literal text: ``t(key,
locale)`` gives the string of ``locale`` (English when it has none). A locale is a dict here
until the reports' locale module serves every page."""

from __future__ import annotations

__all__ = ["STRINGS", "t"]

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "app.name": "flowrisk",
        "nav.queue": "Queue",
        "nav.search": "Search",
        "nav.cases": "Cases",
        "nav.audit": "Audit",
        "nav.sign_out": "Sign out",
        "nav.case_ref": "Case reference",
        "nav.change": "change",
        "sign_in.title": "Sign in",
        "sign_in.key": "API key",
        "sign_in.hint": "Paste the API key you were given (made with flowrisk keys create). "
        "It is checked once; the console then keeps a session for you.",
        "sign_in.submit": "Sign in",
        "sign_in.refused": "Unknown or revoked key.",
        "sign_in.locked": "Too many failed attempts for this key; try again in {seconds} s.",
        "sign_in.stale": "The sign-in form expired; please try again.",
        "purpose.title": "Case reference",
        "purpose.hint": "Which case are these look-ups for? The reference is recorded with "
        "every page you open until you change it.",
        "purpose.field": "Case reference",
        "purpose.submit": "Continue",
        "queue.title": "Alert queue",
        "queue.none": "No scoring run is registered: start the service with "
        "flowrisk serve --scores DIR, where DIR was written by flowrisk score … --out DIR.",
        "queue.run": "Run of {finished}, model version {version}, as of {as_of}: "
        "{entities} entities scored.",
        "queue.empty": "No entity matches these filters.",
        "queue.showing": "{first}–{last} of {total}",
        "filter.band": "Band",
        "filter.alerts": "Alerts (high, critical)",
        "filter.all": "All bands",
        "filter.typology": "Typology",
        "filter.entity_type": "Entity type",
        "filter.status": "Case status",
        "filter.any": "Any",
        "filter.apply": "Filter",
        "filter.reset": "Reset",
        "col.rank": "#",
        "col.entity": "Entity",
        "col.name": "Name",
        "col.type": "Type",
        "col.score": "Score",
        "col.band": "Band",
        "col.typologies": "Typologies",
        "col.reason": "Main reason",
        "col.status": "Case",
        "col.country": "Country",
        "page.previous": "Previous",
        "page.next": "Next",
        "page.of": "Page {page} of {pages}",
        "search.title": "Search",
        "search.field": "Entity id or name",
        "search.submit": "Search",
        "search.none": "No entity matches “{q}”.",
        "search.no_dataset": "The service was started without a dataset "
        "(flowrisk serve --dataset DIR): there is nothing to search.",
        "search.found": "{count} entities match “{q}”.",
        "search.found_one": "1 entity matches “{q}”.",
        "search.more": "Only the first {limit} are shown; refine the search.",
        "audit.title": "Audit trail",
        "audit.hint": "The latest rows of the audit trail, newest first.",
        "audit.filter_entity": "Entity id",
        "audit.filter_key": "Key id",
        "col.at": "Time (UTC)",
        "col.key": "Key",
        "col.role": "Role",
        "col.action": "Action",
        "col.route": "Route",
        "col.status_code": "Status",
        "col.purpose": "Purpose",
        "error.back": "Back to the queue",
        "type.person": "person",
        "type.company": "company",
    },
}


def t(key: str, locale: str = "en", **values: object) -> str:
    """The text of ``key`` in ``locale`` (else English, else the key itself), with
    ``values`` filled in."""
    text = STRINGS.get(locale, {}).get(key) or STRINGS["en"].get(key) or key
    return text.format(**values) if values else text
