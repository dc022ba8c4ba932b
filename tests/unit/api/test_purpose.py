"""The purpose of a lookup (``X-Purpose``): required on every scoring route, payload scoring
included; exactly one header; printable text of a minimum length after trimming; and the value
checked is the value stored in the audit row (a refused purpose is stored as none)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TrainedWorld
from tests.unit.api.conftest import Service
from tests.unit.api.payloads import payload_for

Headers = list[tuple[str, bytes]]


@pytest.fixture(scope="module")
def payload(trained_world: TrainedWorld) -> dict[str, Any]:
    t = trained_world
    return payload_for(t.frames, t.labels["entity_id"][11], t.as_of)


def _key(service: Service) -> Headers:
    return [("X-API-Key", service.analyst.encode())]


def _requests(service: Service, payload: dict[str, Any], headers: Headers) -> Iterator[Any]:
    """The three scoring routes, each with ``headers``, one at a time (the caller reads the
    audit row of each before the next is sent)."""
    entity = payload["entity"]["entity_id"]
    client = service.client
    yield client.get(f"/v1/entities/{entity}/score?explain=false", headers=headers)
    yield client.post("/v1/scores?explain=false", json=payload, headers=headers)
    yield client.post("/v1/scores:batch?explain=false", json={"items": [payload]}, headers=headers)


def _last_row(service: Service) -> dict[str, Any]:
    return list(service.store.audit_rows())[-1]


@pytest.mark.parametrize(
    ("purposes", "says"),
    [
        ([], "required"),
        ([b"case 2026-001", b"case 2026-002"], "exactly one"),
        ([b"case 2026-001", b""], "exactly one"),
        ([b""], "required"),
        ([b"   "], "required"),
        (["\u200b".encode()], "U+200B"),
        (["case\u200b2026".encode()], "U+200B"),
        (["\u200b\u200b\u200b\u200b".encode()], "U+200B"),
        ([b"abc"], "at least 4"),
        ([b"  ab  "], "at least 4"),
        ([b"case\t2026"], "U+0009"),
        (["case\u2028 2026".encode()], "U+2028"),
        (["case \u00a02026".encode()], "U+00A0"),
        ([b"x" * 201], "at most 200"),
    ],
)
def test_a_refused_purpose_is_a_400_naming_the_header_on_every_scoring_route(
    service: Service, payload: dict[str, Any], purposes: list[bytes], says: str
) -> None:
    headers = _key(service) + [("X-Purpose", p) for p in purposes]
    for reply in _requests(service, payload, headers):
        assert reply.status_code == 400, (reply.url, reply.text)
        assert reply.headers["content-type"] == "application/problem+json"
        problem = reply.json()
        assert problem["errors"][0]["field"] == "X-Purpose" and says in problem["detail"]
        assert "probability" not in reply.text
        row = _last_row(service)
        assert (row["status"], row["purpose"]) == (400, None)
        assert row["request_id"] == reply.headers["x-request-id"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (b"case 2026-001", "case 2026-001"),
        (b"   case 7   ", "case 7"),
        (b"abcd", "abcd"),
        (
            "dossier n\u00b0 12 \u2013 \u00e9t\u00e9".encode(),
            "dossier n\u00b0 12 \u2013 \u00e9t\u00e9",
        ),
        (b"x" * 200, "x" * 200),
    ],
)
def test_the_stored_purpose_is_the_checked_one(
    service: Service, payload: dict[str, Any], sent: bytes, stored: str
) -> None:
    for reply in _requests(service, payload, [*_key(service), ("X-Purpose", sent)]):
        assert reply.status_code == 200, (reply.url, reply.text)
        row = _last_row(service)
        assert (row["status"], row["purpose"]) == (200, stored)
        assert row["request_id"] == reply.headers["x-request-id"]


def test_payload_scoring_needs_a_purpose(service: Service, payload: dict[str, Any]) -> None:
    bare = service.client.post("/v1/scores", json=payload, headers={"X-API-Key": service.analyst})
    assert bare.status_code == 400 and bare.json()["errors"][0]["field"] == "X-Purpose"
    assert bare.json()["title"] == "Purpose required"


def test_the_key_is_checked_before_the_purpose(service: Service, payload: dict[str, Any]) -> None:
    """Without a valid key the answer is 401 whatever the purpose: nothing about the rule is
    told to an anonymous caller."""
    reply = service.client.post(
        "/v1/scores", json=payload, headers=[("X-Purpose", "\u200b".encode())]
    )
    assert reply.status_code == 401


def test_the_openapi_document_declares_the_header_required_once(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()
    for path, method in (
        ("/v1/scores", "post"),
        ("/v1/scores:batch", "post"),
        ("/v1/entities/{entity_id}/score", "get"),
    ):
        params = spec["paths"][path][method].get("parameters", [])
        mine = [p for p in params if p["name"].lower() == "x-purpose"]
        assert len(mine) == 1 and mine[0]["in"] == "header" and mine[0]["required"] is True, path
    assert "parameters" not in spec["paths"]["/v1/model"]["get"] or not any(
        p["name"] == "X-Purpose" for p in spec["paths"]["/v1/model"]["get"]["parameters"]
    )


def test_a_purpose_that_is_not_utf8_is_refused(service: Service) -> None:
    """Bytes that are not UTF-8 (the test client re-encodes headers, so the dependency is
    called with a raw scope)."""
    import anyio
    from starlette.requests import Request

    from flowrisk.api.problems import ApiProblem
    from flowrisk.api.purpose import checked_purpose

    app = service.client.app
    scope = {"type": "http", "headers": [(b"x-purpose", b"caf\xe9 case")], "app": app}
    with pytest.raises(ApiProblem, match="UTF-8") as refused:
        anyio.run(checked_purpose, Request(scope))
    assert (refused.value.status, refused.value.field) == (400, "X-Purpose")
    good = Request({**scope, "headers": [(b"X-Purpose", " caf\u00e9 case ".encode())]})
    assert anyio.run(checked_purpose, good) == "caf\u00e9 case" == good.state.purpose
