"""Real servers for tests: a command started in its own process group on a free loopback port,
waited for with a bounded wait, and stopped by its PID; and the flowrisk command run as a user
runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``flowrisk ARGS`` in a subprocess with ``env``, output captured, bounded in time."""
    return subprocess.run(
        [str(BIN / "flowrisk"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@contextmanager
def serving(
    command: list[str],
    ready_url: str,
    log_path: Path,
    *,
    seconds: float = 120,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until ``ready_url`` answers 200 (failing the test, with the log's tail,
    if it exits or takes longer than ``seconds``); terminate its process group afterwards."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + seconds
            while not _answers(ready_url):
                tail = lambda: log_path.read_text(errors="replace")[-2000:]  # noqa: E731
                if proc.poll() is not None:
                    pytest.fail(f"{command[0]} exited ({proc.returncode}): {tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{ready_url} not ready in {seconds:.0f} s: {tail()}")
                time.sleep(0.5)
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=20)


@contextmanager
def tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's process-wide tracking URI at ``uri``, then put back what was there: the
    setter also writes MLFLOW_TRACKING_URI into the environment, so resetting to the previous
    ``get_tracking_uri()`` would pin the resolved default for the rest of the worker."""
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # unset, variable included
        if before is not None:
            os.environ["MLFLOW_TRACKING_URI"] = before
