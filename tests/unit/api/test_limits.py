"""The service's limits: header size and count (431), the request timeout (503, audited as
such), failed authentications per key id or client (429 with Retry-After, then recovery), and
the key check off the event loop (an unavailable or slow store is a 503, /healthz unaffected)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.limits import AuthFailures, LimitsMiddleware, failure_bucket, header_refusal
from flowrisk.errors import AuditUnavailable
from tests.conftest import TrainedWorld
from tests.unit.api.conftest import Service
from tests.unit.api.payloads import payload_for


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Limited:
    client: TestClient
    app: FastAPI
    clock: Clock


@pytest.fixture
def limited(service: Service) -> Iterator[Limited]:
    """An app over the module's store and model with small limits and a hand-moved clock."""
    config = ApiConfig(
        store=service.store,
        holder=service.holder,
        max_header_bytes=2048,
        max_headers=12,
        request_timeout=0.5,
        auth_failures_per_minute=3,
    )
    app = create_app(config)
    clock = Clock()
    app.state.auth_failures = AuthFailures(3, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Limited(client, app, clock)


def test_header_refusal_counts_fields_then_bytes() -> None:
    few = [(b"a", b"1")] * 3
    assert header_refusal(few, 100, 3) is None
    assert "4 header fields; at most 3" in (header_refusal([*few, (b"b", b"2")], 100, 3) or "")
    big = [(b"x-big", b"v" * 96)]
    assert header_refusal(big, 101, 3) is None
    assert "101 bytes; at most 100" in (header_refusal(big, 100, 3) or "")


def test_too_many_or_too_large_headers_are_431_problems(limited: Limited, service: Service) -> None:
    c = limited.client
    assert c.get("/healthz", headers={"x-small": "v" * 1000}).status_code == 200
    many = [(f"x-h{i}", "v") for i in range(13)]
    r = c.get("/healthz", headers=many)
    assert r.status_code == 431 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Request header fields too large"
    assert "header fields; at most 12" in r.json()["detail"]
    r = c.get("/v1/model", headers={**service.headers(), "x-big": "v" * 3000})
    assert r.status_code == 431 and "bytes; at most 2,048" in r.json()["detail"]
    documented = limited.app.openapi()["paths"]["/v1/model"]["get"]["responses"]
    assert {"429", "431", "503"} <= set(documented)
    assert "429" not in limited.app.openapi()["paths"]["/healthz"]["get"]["responses"]


def test_a_slow_request_is_a_503_problem_and_audited_as_one(
    limited: Limited, service: Service, trained_world: TrainedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flowrisk.api.routes.scores as scores

    real = scores.score_frames

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(scores, "score_frames", slow)
    t = trained_world
    entity = t.labels["entity_id"][7]
    payload = payload_for(t.frames, entity, t.as_of)
    started = time.monotonic()
    r = limited.client.post("/v1/scores", json=payload, headers=service.headers())
    assert time.monotonic() - started < 1.4
    assert r.status_code == 503 and r.json()["title"] == "Request timed out"
    assert "score" not in r.json()
    rid = r.headers["x-request-id"]
    rows = [row for row in service.store.audit_rows() if row.get("request_id") == rid]
    assert [(row["status"], row["score"]) for row in rows] == [(503, None)]
    assert rows[0]["entity_id"] == entity


def test_timeout_middleware_alone_lets_a_quick_request_through() -> None:
    async def quick(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def slow(request: Request) -> JSONResponse:
        await anyio.sleep(5)
        return JSONResponse({"ok": True})

    inner = Starlette(routes=[Route("/quick", quick), Route("/slow", slow)])
    app = LimitsMiddleware(inner, max_header_bytes=4096, max_headers=20, request_timeout=0.2)
    with TestClient(app) as client:  # type: ignore[arg-type]
        assert client.get("/quick").json() == {"ok": True}
        started = time.monotonic()
        r = client.get("/slow")
        assert r.status_code == 503 and time.monotonic() - started < 2


def test_failures_lock_a_key_id_until_the_window_clears(limited: Limited, service: Service) -> None:
    c, clock = limited.client, limited.clock
    key_id, key = service.store.create_key("analyst", "locked out")
    wrong = {"X-API-Key": f"frk_{key_id}_not-the-secret"}
    right = {"X-API-Key": key}
    assert c.get("/v1/model", headers=right).status_code == 200
    for _ in range(3):
        clock.now += 1
        assert c.get("/v1/model", headers=wrong).status_code == 401
    locked = c.get("/v1/model", headers=wrong)
    assert locked.status_code == 429 and locked.headers["retry-after"] == "58"
    assert locked.json()["title"] == "Too many failed authentications"
    assert c.get("/v1/model", headers=right).status_code == 429  # even the right key, unchecked
    assert c.get("/v1/model", headers={"X-API-Key": service.analyst}).status_code == 200
    clock.now += 57.5
    assert c.get("/v1/model", headers=right).headers["retry-after"] == "1"
    clock.now += 1  # the first failure has left the window: one more try is allowed
    assert c.get("/v1/model", headers=right).status_code == 200
    assert c.get("/v1/model", headers=wrong).status_code == 401
    assert c.get("/v1/model", headers=right).status_code == 429  # three in the window again
    clock.now += 61
    assert c.get("/v1/model", headers=right).status_code == 200


def test_malformed_keys_count_against_the_client_address(
    limited: Limited, service: Service
) -> None:
    c = limited.client
    for _ in range(3):
        assert c.get("/v1/model", headers={"X-API-Key": "not-a-key"}).status_code == 401
    assert c.get("/v1/model", headers={"X-API-Key": "still-not"}).status_code == 429
    assert c.get("/v1/model", headers={"X-API-Key": service.analyst}).status_code == 200
    assert c.get("/v1/model").status_code == 401  # no key at all is not a guess


def test_failure_buckets_and_their_memory_are_bounded() -> None:
    assert failure_bucket("frk_ab12cd34_secret", "10.0.0.1") == "key:ab12cd34"
    assert failure_bucket("frk_" + "a" * 40 + "_secret", "10.0.0.1") == "client:10.0.0.1"
    assert failure_bucket("Bearer xyz", None) == "client:unknown"
    clock = Clock()
    failures = AuthFailures(2, 60, max_buckets=100, clock=clock)
    for i in range(1000):
        failures.failed(f"key:{i}")
        failures.failed(f"key:{i}")
        assert len(failures) <= 100
    assert failures.retry_after("key:999") == 60
    assert failures.retry_after("key:0") is None  # evicted: the least recently failed go
    clock.now += 60
    assert failures.retry_after("key:999") is None and len(failures) == 99


def test_an_unavailable_store_is_a_503_on_the_key_check(
    limited: Limited, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(presented: str) -> None:
        raise AuditUnavailable("audit store sqlite:///x.db: database is locked")

    monkeypatch.setattr(service.store, "verify", down)
    r = limited.client.get("/v1/model", headers={"X-API-Key": service.analyst})
    assert r.status_code == 503 and r.json()["title"] == "Audit store unavailable"
    assert "database is locked" in r.json()["detail"]


def test_a_slow_key_check_holds_neither_the_loop_nor_healthz(
    limited: Limited, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stuck(presented: str) -> None:
        time.sleep(3)

    monkeypatch.setattr(service.store, "verify", stuck)
    monkeypatch.setattr(service.store, "timeout", 0.3)
    transport = httpx.ASGITransport(app=limited.app)
    done: dict[str, tuple[int, float]] = {}

    async def call(name: str, path: str, headers: dict[str, str]) -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = time.monotonic()
            r = await client.get(path, headers=headers)
            done[name] = (r.status_code, time.monotonic() - started)

    async def both() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "model", "/v1/model", {"X-API-Key": service.analyst})
            await anyio.sleep(0.05)
            tg.start_soon(call, "healthz", "/healthz", {})

    anyio.run(both)
    assert done["healthz"][0] == 200 and done["healthz"][1] < 0.5
    assert done["model"][0] == 503 and done["model"][1] < 2.5


def test_only_failures_count_never_checks_in_flight() -> None:
    clock = Clock()
    failures = AuthFailures(3, 60, clock=clock)
    assert failures.retry_after("key:a") is None
    for _ in range(3):
        clock.now += 1
        failures.failed("key:a")
    assert failures.retry_after("key:a") == 58 and failures.retry_after("key:b") is None


def test_many_requests_at_once_with_a_valid_key_are_never_locked_out(
    limited: Limited, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service.store.verify

    def slow(presented: str) -> Any:
        time.sleep(0.2)
        return real(presented)

    monkeypatch.setattr(service.store, "verify", slow)
    transport = httpx.ASGITransport(app=limited.app)
    statuses: list[int] = []

    async def call(key: str) -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            statuses.append((await client.get("/v1/model", headers={"X-API-Key": key})).status_code)

    async def burst(keys: list[str]) -> None:
        async with anyio.create_task_group() as tg:
            for key in keys:
                tg.start_soon(call, key)

    anyio.run(burst, [service.analyst] * 12)  # one owner, twelve requests at once
    assert statuses == [200] * 12
    statuses.clear()
    anyio.run(burst, [f"frk_0badc0de_guess-{i}" for i in range(12)])  # guesses, all checked
    assert statuses == [401] * 12
    statuses.clear()
    anyio.run(burst, ["frk_0badc0de_guess-13"])
    assert statuses == [429]
