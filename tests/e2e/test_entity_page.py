"""The entity page in a real headless Chromium against a real service (`flowrisk serve
--dataset --scores`): an analyst opens a laundering entity, sees its score, red flags and money
network, clicks a neighbour in the network and lands on the neighbour's own page; each page
view leaves one audit row naming the entity."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flowrisk.audit import Store
from tests.conftest import TrainedWorld
from tests.e2e.live import create_key, flowrisk_serve, register_model, service_env
from tests.servers import run_cli

pytestmark = pytest.mark.slow
SHOTS = Path("/tmp/flowrisk-console-shots")  # outside the checkout: for a person to look at


@dataclass
class Live:
    url: str
    home: Path
    key: str
    entity: str

    def rows(self) -> list[dict[str, Any]]:
        return list(Store(f"sqlite:///{self.home / 'audit.db'}", read_only=True).audit_rows())


@pytest.fixture(scope="module")
def live(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    t = trained_world
    home = tmp_path_factory.mktemp("entity_page_home")
    register_model(t, home)
    env = service_env(home)
    scores = home / "scores"
    scored = run_cli(env, "score", str(t.folder), "--out", str(scores), "--no-validate")
    assert scored.returncode == 0, scored.stderr
    top = pl.read_parquet(scores / "scores.parquet").sort(
        "score", "entity_id", descending=[True, False]
    )
    args = ("--dataset", str(t.folder), "--scores", str(scores))
    with flowrisk_serve(env, home / "server.log", *args) as url:
        yield Live(url, home, create_key(env, "analyst"), str(top["entity_id"][0]))


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_open_an_entity_see_its_network_and_click_through_to_a_neighbour(
    page: Any, live: Live
) -> None:
    page.goto(f"{live.url}/ui/entities/{live.entity}")
    assert page.url.startswith(f"{live.url}/ui/sign-in")  # it brings the analyst back after
    page.fill("#key", live.key)
    page.click("button[type=submit]")
    page.fill("#purpose", "case E2E-2026-18-N")
    page.click("main button[type=submit]")
    assert page.url.endswith(f"/ui/entities/{live.entity}")
    assert page.locator(".scoreline .badge").count() == 1
    network = page.locator("#network svg.network")
    assert network.is_visible()
    box = network.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 400  # drawn at a readable size
    nodes = page.locator("#network svg a g.node:not(.centre)")
    assert nodes.count() > 0
    assert page.locator("#network svg g.node.centre").count() == 1
    _shot(page, "entity")

    before = len(live.rows())
    neighbour = nodes.first.get_attribute("data-id")
    assert neighbour and neighbour != live.entity
    # the node's shape: the middle of the whole group (shape and label) may be empty canvas
    nodes.first.locator("circle, rect, polygon").first.click()
    page.wait_for_url(f"**/ui/entities/{neighbour}")
    assert page.locator("main .entity-head .muted").first.inner_text() == neighbour
    assert page.locator("#network svg g.node.centre").get_attribute("data-id") == neighbour
    _shot(page, "entity-neighbour")
    rows = live.rows()[before:]
    assert [(r["entity_id"], r["status"], r["purpose"]) for r in rows] == [
        (neighbour, 200, "case E2E-2026-18-N")
    ]
