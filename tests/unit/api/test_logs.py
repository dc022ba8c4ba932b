"""Structured logs: one JSON line per request with its request id, route template, status,
latency and key id, never the key, its secret, the purpose or the entity asked about; JSON
lines written to stderr through the logging configuration ``flowrisk serve`` uses."""

from __future__ import annotations

import json
import logging
import logging.config
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest

from flowrisk.api import logs
from flowrisk.api.logs import REQUESTS, JsonFormatter, log_config
from tests.unit.api.conftest import Service


class _Caught(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def requests_caught(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Caught]:
    """The request middleware's logger replaced by a private one at INFO that keeps its
    records, so that no logging configuration an earlier test of the process left behind
    (levels, propagation, ``logging.disable``) can hide a line; all restored afterwards."""
    caught = _Caught()
    private = logging.Logger(REQUESTS, logging.INFO)
    private.propagate = False
    private.addHandler(caught)
    monkeypatch.setattr(logs, "log", private)
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    try:
        yield caught
    finally:
        logging.disable(disabled)


def _lines(caught: _Caught, want: int) -> list[dict]:
    """The request lines kept, once ``want`` of them are there (at most 5 s)."""
    formatter = JsonFormatter()
    deadline = time.monotonic() + 5
    while len(caught.records) < want and time.monotonic() < deadline:
        time.sleep(0.01)
    return [json.loads(formatter.format(r)) for r in caught.records]


def test_a_request_line_names_the_request_and_no_secret(
    service: Service, requests_caught: _Caught
) -> None:
    caught = requests_caught
    purpose = "case LOG-77 secret purpose"
    entity = "E00000003"
    r = service.client.get(
        f"/v1/entities/{entity}/score?explain=false", headers=service.headers(purpose=purpose)
    )
    assert r.status_code == 200
    lines = _lines(caught, want=1)
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == r.headers["x-request-id"]
    assert line["route"] == "/v1/entities/{entity_id}/score"
    assert (line["method"], line["status"], line["level"]) == ("GET", 200, "info")
    assert line["key_id"] == service.analyst.split("_")[1]
    assert line["latency_ms"] > 0 and isinstance(line["pid"], int)
    assert datetime.fromisoformat(line["time"]).utcoffset() is not None
    text = json.dumps(line)
    secret = service.analyst.split("_", 2)[2]
    for hidden in (secret, service.analyst, purpose, entity, "explain"):
        assert hidden not in text


def test_refused_and_unmatched_requests_are_logged_without_the_secret(
    service: Service, requests_caught: _Caught
) -> None:
    caught = requests_caught
    wrong = "frk_00c0ffee_this-is-the-guessed-secret"
    assert service.client.get("/v1/model", headers={"X-API-Key": wrong}).status_code == 401
    assert service.client.get("/no/such/path").status_code == 404
    refused, missing = _lines(caught, want=2)
    assert refused["status"] == 401 and refused["key_id"] is None
    assert refused["refused"] == "key:00c0ffee"
    assert "guessed-secret" not in json.dumps(refused)
    assert missing["route"] == "other" and missing["status"] == 404


@contextmanager
def serve_logging() -> Iterator[None]:
    """The logging configuration of ``flowrisk serve --log-level warning``, then the loggers
    exactly as they were (later tests capture records through the root logger)."""
    names = ["", "flowrisk", "uvicorn", "uvicorn.error", "uvicorn.access"]
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    logging.config.dictConfig(log_config("warning"))
    added = {h for lg in loggers for h in lg.handlers}
    try:
        yield
    finally:
        for handler in added:
            handler.close()  # writes what is queued
        for lg, handlers, level, propagate in saved:
            lg.handlers, lg.level, lg.propagate = handlers, level, propagate


def test_the_serve_configuration_writes_json_lines_on_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with serve_logging():
        logging.getLogger("uvicorn.error").warning("from %s", "uvicorn")
        logging.getLogger("flowrisk.api").info("not at warning")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("flowrisk.api").exception("failed")
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.strip()]
    assert [(x["logger"], x["message"]) for x in lines] == [
        ("uvicorn.error", "from uvicorn"),
        ("flowrisk.api", "failed"),
    ]
    assert lines[1]["level"] == "error" and "ValueError: boom" in lines[1]["traceback"]
