"""Routes are labelled in metrics by their path template and audited iff marked: a router added
to the app, as a new resource would be, needs no table or pattern edited anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.deps import AnalystKey, Audited, audit_note
from flowrisk.api.middleware import is_audited, resolve
from flowrisk.api.routes import ROUTERS
from tests.unit.api.conftest import Service


def _throwaway_routers() -> list[APIRouter]:
    """One router marked as a whole, one route marked by its parameter, one unmarked route."""
    marked = APIRouter(prefix="/v1/probes", dependencies=[Depends(audit_note)])

    @marked.get("/{entity_id}/look")
    def look(entity_id: str, _: AnalystKey) -> dict[str, str]:
        return {"entity_id": entity_id}

    noted = APIRouter(prefix="/v1/notes")

    @noted.post("/{entity_id}")
    def note(entity_id: str, _: AnalystKey, audit: Audited) -> dict[str, str]:
        audit.results = [{"entity_id": entity_id, "score": 1.0, "band": "low"}]
        return {"entity_id": entity_id}

    plain = APIRouter(prefix="/v1/plain")

    @plain.get("/{entity_id}/look")
    def unaudited(entity_id: str, _: AnalystKey) -> dict[str, str]:
        return {"entity_id": entity_id}

    return [marked, noted, plain]


@pytest.fixture(scope="module")
def probed(service: Service) -> Iterator[TestClient]:
    app = create_app(ApiConfig(store=service.store, holder=service.holder, max_body_bytes=4096))
    for router in _throwaway_routers():
        app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _new_rows(service: Service, before: int) -> list[dict]:
    return list(service.store.audit_rows())[before:]


PROBES = "/v1/probes/{entity_id}/look"
NOTES = "/v1/notes/{entity_id}"
PLAIN = "/v1/plain/{entity_id}/look"


@pytest.mark.parametrize(
    ("method", "url", "template", "status", "audited"),
    [
        ("GET", "/v1/probes/P1/look", PROBES, 200, {"entity_id": "P1", "score": None}),
        ("POST", "/v1/notes/P2", NOTES, 200, {"entity_id": "P2", "score": 1.0, "band": "low"}),
        ("GET", "/v1/plain/P3/look", PLAIN, 200, None),
        ("DELETE", "/v1/probes/P4/look", PROBES, 405, {"entity_id": "P4", "status": 405}),
        ("GET", "/v1/probes/P6/look", PROBES, 401, {"entity_id": "P6", "key_id": None}),
    ],
)
def test_a_new_route_is_labelled_and_audited_iff_marked(
    service: Service,
    probed: TestClient,
    method: str,
    url: str,
    template: str,
    status: int,
    audited: dict | None,
) -> None:
    before = len(list(service.store.audit_rows()))
    headers = service.headers() if status != 401 else {}
    r = probed.request(method, url, headers=headers)
    assert r.status_code == status, r.text
    rows = _new_rows(service, before)
    if audited is None:
        assert rows == []
    else:
        assert len(rows) == 1 and rows[0]["route"] == url
        assert {k: rows[0][k] for k in audited} == audited
    metrics = probed.get("/metrics").text
    assert f'method="{method}",route="{template}",status="{status}"' in metrics


def test_a_body_refused_for_its_size_is_audited_against_its_route(
    service: Service, probed: TestClient
) -> None:
    before = len(list(service.store.audit_rows()))
    r = probed.post("/v1/notes/P5", content=b"x" * 5000, headers=service.headers())
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    rows = _new_rows(service, before)
    assert [(row["entity_id"], row["status"]) for row in rows] == [("P5", 413)]
    assert 'route="/v1/notes/{entity_id}",status="413"' in probed.get("/metrics").text


def test_unmatched_paths_are_labelled_other_and_not_audited(
    service: Service, probed: TestClient
) -> None:
    before = len(list(service.store.audit_rows()))
    assert probed.get("/v1/entities/a/b/score", headers=service.headers()).status_code == 404
    assert _new_rows(service, before) == []
    assert 'method="GET",route="other",status="404"' in probed.get("/metrics").text


def test_the_service_audits_exactly_its_scoring_routes() -> None:
    """The marks of the shipped routers: every route that returns something about an entity,
    and the model reload."""
    routes = [route for router in ROUTERS for route in router.routes]
    audited = {getattr(route, "path", None) for route in routes if is_audited(route)}
    assert audited == {
        "/v1/scores",
        "/v1/scores:batch",
        "/v1/entities/{entity_id}/score",
        "/v1/model/reload",
    }


def test_resolve_picks_the_route_starlette_picks() -> None:
    routes = [route for router in ROUTERS for route in router.routes]
    scope = {"type": "http", "path": "/v1/entities/E1/score", "method": "GET"}
    found = resolve(routes, scope)
    assert (found.label, found.audited, found.params) == (
        "/v1/entities/{entity_id}/score",
        True,
        {"entity_id": "E1"},
    )
    assert resolve(routes, {**scope, "method": "POST"}).label == "/v1/entities/{entity_id}/score"
    assert resolve(routes, {**scope, "path": "/v1/model"}).audited is False
    assert resolve(routes, {**scope, "path": "/v1/nothing"}).label == "other"
