"""Scoring fails closed: a response leaves only once its audit rows are committed; when they
cannot be (the store says it is unavailable, or does not answer in time) the client gets a 503
problem naming the store and nothing of the score, ``/readyz`` is 503 until a write succeeds
again, and ``/healthz`` keeps answering. Every response carries a request id, stored in its
audit rows."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.audit import Store
from flowrisk.errors import AuditUnavailable
from tests.conftest import TrainedWorld
from tests.unit.api.conftest import Service
from tests.unit.api.payloads import payload_for

RESULT_KEYS = ("probability", "score", "band", "reasons", "model_version", "items")


class FlakyStore(Store):
    """A real SQLite store that can be made to refuse writes (``failing``), or to take
    ``delay`` seconds before each write, and that records what had been sent when each
    write committed."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url)
        self.timeout = timeout
        self.failing = False
        self.delay = 0.0
        self.probes = 0
        self.on_commit: list[Any] = []

    def append_groups(
        self, groups: Sequence[Sequence[Mapping[str, Any]]]
    ) -> list[AuditUnavailable | None]:
        # every append goes through here (``append`` too): one transaction for the groups
        if self.delay:
            time.sleep(self.delay)
        if self.failing:
            return [AuditUnavailable(f"audit store {self.safe_url}: database is locked")] * len(
                groups
            )
        errors = super().append_groups(groups)
        for rows, error in zip(groups, errors, strict=True):
            for hook in self.on_commit if error is None else []:
                hook(rows)
        return errors

    def probe_write(self) -> None:
        self.probes += 1
        if self.failing:
            raise AuditUnavailable(f"audit store {self.safe_url}: database is locked")
        super().probe_write()


@dataclass
class Flaky:
    client: TestClient
    app: Any
    store: FlakyStore
    headers: dict[str, str]
    payload: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        return list(self.store.audit_rows())


@pytest.fixture(scope="module")
def flaky(
    service: Service, trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flaky]:
    store = FlakyStore(f"sqlite:///{tmp_path_factory.mktemp('flaky') / 'audit.db'}", 0.3)
    app = create_app(ApiConfig(store=store, holder=service.holder))
    _, key = store.create_key("analyst")
    t = trained_world
    payload = payload_for(t.frames, t.labels["entity_id"][3], t.as_of)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Flaky(client, app, store, {"X-API-Key": key, "X-Purpose": "case FC-1"}, payload)
    store.failing, store.delay = False, 0.0


@pytest.fixture
def healthy(flaky: Flaky) -> Iterator[Flaky]:
    """The flaky store writing again, and the service ready, after each test."""
    yield flaky
    flaky.store.failing, flaky.store.delay = False, 0.0
    flaky.store.on_commit.clear()
    flaky.client.get("/readyz")


def _score(f: Flaky, **headers: str) -> Any:
    return f.client.post(
        "/v1/scores?explain=false", json=f.payload, headers={**f.headers, **headers}
    )


def test_the_response_is_held_until_its_audit_row_is_committed(healthy: Flaky) -> None:
    """Driven as a server would (raw ASGI): no message of the response is sent before the
    row is committed, and the row carries the request id the response carries."""
    f = healthy
    sent: list[dict[str, Any]] = []
    seen_at_commit: list[int] = []
    f.store.on_commit.append(lambda rows: seen_at_commit.append(len(sent)))
    body = json.dumps(f.payload).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/scores",
        "raw_path": b"/v1/scores",
        "query_string": b"explain=false",
        "root_path": "",
        "headers": [
            (b"x-api-key", f.headers["X-API-Key"].encode()),
            (b"x-purpose", b"case FC-1"),
            (b"x-request-id", b"held-1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(f.app, scope, receive, send)
    assert seen_at_commit == [0], "a response message left before the audit row was committed"
    start = sent[0]
    assert start["status"] == 200
    assert (b"x-request-id", b"held-1") in start["headers"]
    assert json.loads(sent[1]["body"])["entity_id"] == f.payload["entity"]["entity_id"]
    assert f.rows()[-1]["request_id"] == "held-1"


def _assert_withheld(reply: Any, store: Store) -> None:
    assert reply.status_code == 503, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["title"] == "Audit store unavailable" and store.safe_url in body["detail"]
    assert not any(k in body for k in RESULT_KEYS), body
    assert "probability" not in reply.text and '"band"' not in reply.text


def test_an_unavailable_store_gives_503_and_readyz_503_until_it_recovers(healthy: Flaky) -> None:
    f = healthy
    assert f.client.get("/readyz").status_code == 200
    before = len(f.rows())
    f.store.failing = True
    entity = f.payload["entity"]["entity_id"]
    for reply in (
        _score(f),
        f.client.post("/v1/scores:batch", json={"items": [f.payload]}, headers=f.headers),
        f.client.get(f"/v1/entities/{entity}/score", headers=f.headers),
    ):
        _assert_withheld(reply, f.store)
        assert reply.headers["x-request-id"]
    assert len(f.rows()) == before, "nothing may be committed for a withheld response"
    not_ready = f.client.get("/readyz")
    assert not_ready.status_code == 503 and "audit store" in not_ready.json()["detail"]
    assert f.store.probes >= 1, "an unhealthy store is probed with a real write"
    assert f.client.get("/healthz").status_code == 200
    metrics = f.client.get("/metrics").text
    assert 'flowrisk_audit_failures_total{reason="unavailable"} 3.0' in metrics
    assert "flowrisk_audit_ready 0.0" in metrics
    f.store.failing = False
    assert f.client.get("/readyz").status_code == 200
    assert "flowrisk_audit_ready 1.0" in f.client.get("/metrics").text
    ok = _score(f, **{"X-Request-ID": "after-recovery"})
    assert ok.status_code == 200 and "probability" in ok.json()
    last = f.rows()[-1]
    assert (last["status"], last["request_id"]) == (200, "after-recovery")


def test_a_refused_request_is_withheld_too_when_its_row_cannot_be_written(healthy: Flaky) -> None:
    """A refusal (here a missing purpose) is audited like a result: without its row, a 503."""
    f = healthy
    f.store.failing = True
    reply = f.client.post(
        "/v1/scores", json=f.payload, headers={"X-API-Key": f.headers["X-API-Key"]}
    )
    _assert_withheld(reply, f.store)


def test_a_store_that_does_not_answer_in_time_gives_503_and_the_late_row_says_so(
    healthy: Flaky,
) -> None:
    """The store's own timeout (0.3 s) plus the margin bounds the wait; a write that still
    commits after the client was answered is followed by a row recording the 503."""
    from flowrisk.api.middleware import audit_time_limit

    f = healthy
    limit = audit_time_limit(f.store)
    f.store.delay = limit + 0.5
    committed = threading.Event()
    f.store.on_commit.append(lambda rows: committed.set())
    started = time.monotonic()
    reply = _score(f, **{"X-Request-ID": "too-slow"})
    waited = time.monotonic() - started
    _assert_withheld(reply, f.store)
    assert waited < limit + 0.4, f"the client waited {waited:.2f} s, the limit is {limit:.2f} s"
    assert f.client.get("/healthz").status_code == 200
    assert 'flowrisk_audit_failures_total{reason="timeout"}' in f.client.get("/metrics").text
    f.store.delay = 0.0
    assert committed.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mine = [r for r in f.rows() if r["request_id"] == "too-slow"]
        if len(mine) == 2:
            break
        time.sleep(0.05)
    assert [r["status"] for r in mine] == [200, 503]
    assert mine[1]["score"] is None and mine[1]["band"] is None


def test_a_failure_inside_an_audited_route_is_a_500_problem_with_its_row(
    healthy: Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowrisk.api.routes import scores

    f = healthy

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(scores, "score_frames", broken)
    reply = _score(f, **{"X-Request-ID": "bug-1"})
    assert reply.status_code == 500 and reply.headers["content-type"] == "application/problem+json"
    assert "bug-1" in reply.json()["detail"] and reply.headers["x-request-id"] == "bug-1"
    row = f.rows()[-1]
    assert (row["request_id"], row["status"], row["score"]) == ("bug-1", 500, None)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("tab\there", False),
        ("caf\u00e9", False),
        ("", False),
    ],
)
def test_every_response_carries_a_request_id(healthy: Flaky, sent: str, kept: bool) -> None:
    f = healthy
    raw = [("X-Request-ID", sent.encode())] if sent else []
    for reply in (
        f.client.get("/healthz", headers=raw),
        f.client.get("/v1/model", headers=[*raw, ("X-API-Key", f.headers["X-API-Key"])]),
        f.client.post(
            "/v1/scores?explain=false",
            json=f.payload,
            headers=[*raw, *f.headers.items()],
        ),
    ):
        rid = reply.headers["x-request-id"]
        if kept:
            assert rid == sent
        else:
            assert len(rid) == 32 and int(rid, 16) >= 0 and rid != sent
    assert f.rows()[-1]["request_id"] == rid


def test_two_request_ids_are_replaced_by_a_fresh_one(healthy: Flaky) -> None:
    reply = healthy.client.get("/healthz", headers=[("X-Request-ID", "a"), ("X-Request-ID", "b")])
    assert (
        reply.headers["x-request-id"] not in ("a", "b") and len(reply.headers["x-request-id"]) == 32
    )


def test_a_failure_in_a_route_not_audited_is_a_500_problem_with_its_request_id(
    healthy: Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowrisk.api.routes import model

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(model, "_model_info", broken)
    headers = {"X-API-Key": healthy.headers["X-API-Key"], "X-Request-ID": "bug-2"}
    reply = healthy.client.get("/v1/model", headers=headers)
    assert reply.status_code == 500 and reply.headers["content-type"] == "application/problem+json"
    assert reply.headers["x-request-id"] == "bug-2" and "bug-2" in reply.json()["detail"]
