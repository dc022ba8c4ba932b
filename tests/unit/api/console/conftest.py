"""A service app over a real SQLite store, the small session world as its dataset and a
scoring run of that world's entities written as `flowrisk score` writes one; the model is a
stand-in (console pages never score)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.service import ModelHolder
from flowrisk.audit import Store
from flowrisk.models.batch import SCORE_SCHEMA
from flowrisk.models.explain import EXPLANATION_SCHEMA
from flowrisk.models.scoring import DatasetSource
from flowrisk.schema import BANDS

TAGS = ("structuring", "mule", "crypto", "front_business")


def write_run(folder: Path, entities: pl.DataFrame, dataset: Path) -> Path:
    """A finished scoring run of ``entities``: scores spread over every band, alerts explained
    with tags cycling through ``TAGS``."""
    folder.mkdir(parents=True, exist_ok=True)
    n = entities.height
    scores = pl.DataFrame(
        {
            "entity_id": entities["entity_id"],
            "entity_type": entities["entity_type"].cast(pl.String),
            "as_of": pl.Series([None] * n, dtype=pl.Datetime("us", "UTC")),
            "probability": [(i % 997) / 997 for i in range(n)],
            "score": [round(100 * ((i * 7919) % n) / n, 5) for i in range(n)],
        }
    ).with_columns(
        pl.when(pl.col("score") >= 90)
        .then(pl.lit(BANDS[3]))
        .when(pl.col("score") >= 75)
        .then(pl.lit(BANDS[2]))
        .when(pl.col("score") >= 50)
        .then(pl.lit(BANDS[1]))
        .otherwise(pl.lit(BANDS[0]))
        .cast(SCORE_SCHEMA["band"])
        .alias("band")
    )
    scores.select(list(SCORE_SCHEMA)).write_parquet(folder / "scores.parquet")
    alerts = scores.filter(pl.col("band").cast(pl.String).is_in(["high", "critical"]))
    reason = {
        "family": "cash", "typology": "structuring", "feature": "f", "direction": "raises",
        "contribution": 1.0, "value": 1.0, "baseline": 0.0, "baseline_kind": "peer median",
        "text": "Many cash deposits just under the threshold", "evidence": [], "merged": [],
    }  # fmt: skip
    explained = pl.DataFrame(
        {
            "entity_id": alerts["entity_id"],
            "probability": alerts["probability"],
            "score": alerts["score"],
            "band": alerts["band"],
            "raw_log_odds": [0.0] * alerts.height,
            "bias": [0.0] * alerts.height,
            "tags": [[TAGS[i % len(TAGS)]] for i in range(alerts.height)],
            "reasons": [[reason]] * alerts.height,
            "red_flags": [[]] * alerts.height,
        },
        schema=EXPLANATION_SCHEMA,
    )
    explained.write_parquet(folder / "explanations.parquet")
    run = {
        "status": "complete",
        "finished_at": "2026-01-02T03:04:05+00:00",
        "model_version": "1",
        "as_of": "2026-01-01T00:00:00+00:00",
        "entities": n,
        "bands": {b: int((scores["band"].cast(pl.String) == b).sum()) for b in BANDS},
        "dataset": str(dataset),
    }
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


@dataclass
class Console:
    client: TestClient
    store: Store
    keys: dict[str, str]  # role -> key
    run: Path
    entities: pl.DataFrame

    def audit_count(self) -> int:
        return sum(1 for _ in self.store.audit_rows())

    def last_rows(self, n: int) -> list[dict[str, Any]]:
        return list(self.store.audit_rows())[-n:]


def form_token(html: str, name: str = "csrf") -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in the page"
    return found.group(1)


def sign_in(client: TestClient, key: str, next_: str = "/ui/queue") -> Any:
    page = client.get("/ui/sign-in")
    return client.post(
        "/ui/sign-in",
        data={"key": key, "csrf": form_token(page.text), "next": next_},
        follow_redirects=False,
    )


def set_purpose(client: TestClient, purpose: str = "case 2026-041") -> Any:
    page = client.get("/ui/purpose")
    return client.post(
        "/ui/purpose",
        data={"purpose": purpose, "csrf": form_token(page.text), "next": "/ui/queue"},
        follow_redirects=False,
    )


def stand_in_holder() -> ModelHolder:
    bundle = SimpleNamespace(version="1", uri="models:/flowrisk@champion")
    return ModelHolder("models:/flowrisk@champion", lambda uri: (bundle, {}), lambda _: None)  # type: ignore[arg-type, return-value]


def console_app(store: Store, dataset: Path, run: Path | None, **limits: Any) -> Any:
    config = ApiConfig(
        store=store, holder=stand_in_holder(), dataset=DatasetSource(dataset), scores=run, **limits
    )
    return create_app(config)


@pytest.fixture(scope="module")
def console(small_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    home = tmp_path_factory.mktemp("console")
    store = Store(f"sqlite:///{home / 'audit.db'}")
    entities = pl.read_parquet(small_world_dir / "entities.parquet")
    run = write_run(home / "scores", entities, small_world_dir)
    app = console_app(store, small_world_dir, run)
    roles = ("analyst", "supervisor", "admin")
    keys = {role: store.create_key(role, f"test {role}")[1] for role in roles}
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield Console(client, store, keys, run, entities)


@pytest.fixture
def fresh(console: Console) -> Iterator[Console]:
    """The console with a browser of its own (no cookies)."""
    console.client.cookies.clear()
    yield console
    console.client.cookies.clear()
