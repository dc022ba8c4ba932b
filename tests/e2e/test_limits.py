"""The service's limits and start-up checks through a real `flowrisk serve` (uvicorn): oversized
headers are 431 problems, a 128 MiB header sent slowly does not stall /healthz for anyone else,
`--workers 2` serves from two processes logging JSON lines, and a broken audit chain refuses
to start unless `--allow-broken-audit`."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TrainedWorld
from tests.servers import BIN, free_port, run_cli, serving

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 120
HEAD_SECONDS = 3  # the module's server: requests (and their heads) within 3 s


@dataclass
class Home:
    path: Path
    env: dict[str, str]
    analyst: str


@dataclass
class Server:
    port: int
    log: Path


@pytest.fixture(scope="module")
def home(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A FLOWRISK_HOME with the trained model registered as champion and an analyst key."""
    import mlflow

    from flowrisk.models.registry import Registry

    t = trained_world
    path = tmp_path_factory.mktemp("limits_home")
    registry = Registry(f"sqlite:///{path / 'mlflow.db'}", path / "mlartifacts")
    with registry.start_run("flowrisk"):
        mlflow.log_metric("flowrisk.pr_auc", 0.9)
        registry.log_model(t.model, t.baselines, t.split.test.to_pandas())
    registry.set_alias("1")
    env = {**os.environ, "FLOWRISK_HOME": str(path)}
    env.pop("FLOWRISK_MLFLOW_URI", None)
    env.pop("FLOWRISK_DATABASE_URL", None)
    made = run_cli(env, "keys", "create", "--role", "analyst")
    assert made.returncode == 0, made.stderr
    return Home(path, env, made.stdout.strip().splitlines()[-1])


def _serve(
    home: Home, log: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, AbstractContextManager[subprocess.Popen[bytes]]]:
    """A `flowrisk serve` on a free port, as a context that waits for /readyz."""
    port = free_port()
    command = [str(BIN / "flowrisk"), "serve", "--port", str(port), *extra]
    ready = f"http://127.0.0.1:{port}/readyz"
    return port, serving(command, ready, log, seconds=STARTUP_SECONDS, env=env or home.env)


@pytest.fixture(scope="module")
def server(home: Home) -> Iterator[Server]:
    log = home.path / "server.log"
    env = {**home.env, "FLOWRISK_API_REQUEST_TIMEOUT_SECONDS": str(HEAD_SECONDS)}
    port, running = _serve(home, log, "--log-level", "debug", env=env)
    with running:
        yield Server(port, log)


def _raw(port: int, head: bytes) -> bytes:
    """Send a request head on its own connection; what the server answered before closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with contextlib.suppress(OSError):  # the server may stop reading once it answered
            sock.sendall(head)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer


def _problem(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/problem+json" in head.lower()
    return status, json.loads(body)


def _head(headers: list[tuple[str, str]]) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"GET /v1/model HTTP/1.1\r\nHost: localhost\r\n{lines}\r\n".encode()


def test_oversized_headers_are_431_problems(server: Server, home: Home) -> None:
    key = ("X-API-Key", home.analyst)
    status, body = _problem(_raw(server.port, _head([key, ("X-Big", "a" * (1 << 20))])))
    assert status == 431 and body["title"] == "Request header fields too large"
    status, body = _problem(_raw(server.port, _head([key, ("X-Big", "a" * 20_000)])))
    assert status == 431 and "bytes; at most 16,384" in body["detail"]  # the middleware's
    many = [key, *[(f"X-H{i}", "v") for i in range(70)]]
    status, body = _problem(_raw(server.port, _head(many)))
    assert status == 431 and "header fields; at most 64" in body["detail"]
    ok = _raw(server.port, _head([key, ("Connection", "close")]))
    assert ok.startswith(b"HTTP/1.1 200")


def test_a_128_mib_header_sent_slowly_does_not_stall_healthz(server: Server) -> None:
    sent = {"bytes": 0, "cut": False}

    def slow_sender() -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
            chunk = b"a" * 65536
            try:
                while sent["bytes"] < 128 << 20:
                    sock.sendall(chunk)
                    sent["bytes"] += len(chunk)
                    time.sleep(0.002)
            except OSError:
                sent["cut"] = True

    sender = threading.Thread(target=slow_sender, daemon=True)
    sender.start()
    slowest = 0.0
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as r:
            assert r.status == 200
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.1)
    sender.join(timeout=30)
    assert slowest < 1.0
    assert sent["cut"] and sent["bytes"] < 128 << 20  # the server cut the sender off


def test_a_head_trickling_in_is_closed_at_the_request_timeout(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        closed = False
        while time.monotonic() - started < 10 and not closed:
            try:
                sock.sendall(b"a")
                sock.settimeout(0.5)
                closed = sock.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        elapsed = time.monotonic() - started
    assert closed and HEAD_SECONDS - 0.5 < elapsed < HEAD_SECONDS + 3


def test_request_lines_are_json_without_the_key(server: Server, home: Home) -> None:
    url = f"http://127.0.0.1:{server.port}/v1/model"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"X-API-Key": home.analyst})):
        pass
    time.sleep(0.5)  # lines are written by a background thread
    text = server.log.read_text()
    lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    mine = [x for x in lines if x.get("route") == "/v1/model" and x.get("status") == 200]
    assert mine and mine[-1]["key_id"] == home.analyst.split("_")[1]
    assert any(x["message"] == "service started" for x in lines)
    assert home.analyst not in text and home.analyst.split("_", 2)[2] not in text


def test_two_workers_both_answer(home: Home, tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    port, running = _serve(home, log, "--workers", "2")
    url = f"http://127.0.0.1:{port}/healthz"

    def get(_: int) -> int:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status)

    with running:
        started: set[int] = set()
        answered: set[int] = set()
        for _ in range(20):
            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(get, range(100))) == {200}
            time.sleep(0.3)
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            started = {x["pid"] for x in lines if x["message"] == "service started"}
            answered = {x["pid"] for x in lines if x.get("route") == "/healthz"}
            if len(answered) >= 2:
                break
    assert len(started) == 2 and answered == started


def test_serve_refuses_a_broken_audit_chain_unless_allowed(home: Home, tmp_path: Path) -> None:
    database = tmp_path / "audit.db"
    env = {**home.env, "FLOWRISK_DATABASE_URL": f"sqlite:///{database}"}
    for _ in range(3):  # each key created is an audit row
        assert run_cli(env, "keys", "create", "--role", "analyst").returncode == 0
    with sqlite3.connect(database) as db:
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE id = 2")
    port = free_port()
    refused = subprocess.run(
        [str(BIN / "flowrisk"), "serve", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    errors = refused.stderr.strip().splitlines()
    assert (
        len(errors) == 1 and errors[0].startswith("error:") and "--allow-broken-audit" in errors[0]
    )
    port, running = _serve(home, tmp_path / "broken.log", "--allow-broken-audit", env=env)
    with running, urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        assert r.status == 200
