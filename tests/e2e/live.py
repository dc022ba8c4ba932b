"""What the end-to-end tests share: a FLOWRISK_HOME with a model registered in a real MLflow
SQLite store, keys made by `flowrisk keys create`, `flowrisk serve` started on a free port, a
plain HTTP client that also returns headers and timing, and a TCP forwarder that can be cut
(a database server going away)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import TrainedWorld
from tests.servers import BIN, free_port, run_cli, serving

STARTUP_SECONDS = 90
RESULT_KEYS = ("probability", "score", "band", "reasons", "items", "model_version")


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    seconds: float
    text: str = ""


def call(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: Any = None,
    timeout: float = 60,
) -> Reply:
    """One request; the reply's status, JSON body (None when not JSON), headers, duration."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"content-type": "application/json", **(headers or {})},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            status, raw, got = reply.status, reply.read(), dict(reply.headers)
    except urllib.error.HTTPError as err:
        status, raw, got = err.code, err.read(), dict(err.headers)
    seconds = time.monotonic() - started
    text = raw.decode(errors="replace")
    try:
        parsed = json.loads(raw or b"null")
    except ValueError:
        parsed = None
    return Reply(status, parsed, {k.lower(): v for k, v in got.items()}, seconds, text)


def register_model(t: TrainedWorld, home: Path) -> None:
    """Version 1 of the session's model in an MLflow SQLite store under ``home``, champion."""
    import mlflow

    from flowrisk.models.registry import Registry

    registry = Registry(f"sqlite:///{home / 'mlflow.db'}", home / "mlartifacts")
    with registry.start_run("flowrisk"):
        mlflow.log_metric("flowrisk.pr_auc", 0.9)
        registry.log_model(t.model, t.baselines, t.split.test.to_pandas())
    registry.set_alias("1")


def service_env(home: Path, **settings: str) -> dict[str, str]:
    """The environment of a service over ``home``, with ``FLOWRISK_<NAME>`` settings."""
    env = {**os.environ, "FLOWRISK_HOME": str(home)}
    env.pop("FLOWRISK_MLFLOW_URI", None)
    env.pop("FLOWRISK_DATABASE_URL", None)
    env.update({f"FLOWRISK_{k.upper()}": v for k, v in settings.items()})
    return env


def create_key(env: dict[str, str], role: str = "analyst") -> str:
    made = run_cli(env, "keys", "create", "--role", role)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


@contextmanager
def flowrisk_serve(env: dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """`flowrisk serve ARGS` on a free port until the block ends; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "flowrisk"), "serve", "--port", str(port), *args]
    with serving(command, f"{url}/readyz", log, seconds=STARTUP_SECONDS, env=env):
        yield url


@dataclass
class HealthWatch:
    """``/healthz`` polled every 50 ms in a thread while a block runs: every status and the
    slowest answer (a blocked database must not stall it)."""

    url: str
    statuses: list[int] = field(default_factory=list)
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _poll(self) -> None:
        while not self._stop.is_set():
            reply = call(f"{self.url}/healthz", timeout=10)
            self.statuses.append(reply.status)
            self.slowest = max(self.slowest, reply.seconds)
            self._stop.wait(0.05)

    @contextmanager
    def watching(self) -> Iterator[HealthWatch]:
        thread = threading.Thread(target=self._poll, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(15)


class Forwarder:
    """A TCP forwarder on a loopback port to ``target``: ``start`` listens (again, on the
    same port), ``cut`` closes the listener and every forwarded connection, as a server that
    went down would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)  # accept wakes up to notice a cut
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # cut
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._close(s)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            open_ = list(self._sockets)
        for sock in open_:
            self._close(sock)
