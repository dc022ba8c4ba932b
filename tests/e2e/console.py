"""The console service the browser tests share (one per test session): a trained world scored
by `flowrisk score`, the run registered with `flowrisk serve --dataset --scores`, an analyst's
and a supervisor's key from `flowrisk keys create`; and the steps every story starts with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flowrisk.audit import Store
from tests.conftest import TrainedWorld
from tests.e2e.live import create_key, flowrisk_serve, register_model, service_env
from tests.servers import run_cli

REPORTING_ENTITY = "FIU-TEST-0042"  # the reporting entity's id in the goAML exports
SHOTS = Path("/tmp/flowrisk-console-shots")  # outside the checkout: for a person to look at


@dataclass
class LiveConsole:
    url: str
    home: Path
    keys: dict[str, str]
    scores: Path

    def rows(self) -> list[dict[str, Any]]:
        """Every audit row so far, oldest first."""
        store = Store(f"sqlite:///{self.home / 'audit.db'}", read_only=True)
        return list(store.audit_rows())


@pytest.fixture(scope="session")
def live(
    trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveConsole]:
    """One console service for the session's browser tests (each reads the audit rows it
    caused from the count before it)."""
    t = trained_world
    home = tmp_path_factory.mktemp("console_home")
    register_model(t, home)
    env = service_env(home, reporting_entity_id=REPORTING_ENTITY)
    scores = home / "scores"
    scored = run_cli(env, "score", str(t.folder), "--out", str(scores), "--no-validate")
    assert scored.returncode == 0, scored.stderr
    keys = {role: create_key(env, role) for role in ("analyst", "supervisor")}
    args = ("--dataset", str(t.folder), "--scores", str(scores))
    with flowrisk_serve(env, home / "server.log", *args) as url:
        yield LiveConsole(url, home, keys, scores)


def shot(page: Any, name: str) -> None:
    """A full-page screenshot under SHOTS, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, live: LiveConsole, role: str, start: str = "/ui") -> None:
    """Open ``start``, land on the sign-in form, and sign in with the ``role``'s key."""
    page.goto(f"{live.url}{start}")
    assert page.url.startswith(f"{live.url}/ui/sign-in")
    shot(page, "sign-in")
    page.fill("#key", live.keys[role])
    page.click("button[type=submit]")
