"""An app over the session's trained model, with a real SQLite store for keys and audit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.service import ModelHolder
from flowrisk.audit import Store
from flowrisk.models.registry import Bundle
from flowrisk.models.scoring import DatasetSource
from tests.conftest import TrainedWorld


@dataclass
class Service:
    client: TestClient
    store: Store
    holder: ModelHolder
    analyst: str
    admin: str
    versions: list[Any]  # what the loader returns next (a Bundle or an exception)

    def headers(self, key: str | None = None, purpose: str | None = "case 2026-001") -> dict:
        out = {"X-API-Key": key or self.analyst}
        if purpose:
            out["X-Purpose"] = purpose
        return out


@pytest.fixture(scope="module")
def service(
    trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    t = trained_world
    bundle = Bundle(
        model=t.model, baselines=t.baselines, uri="models:/flowrisk@champion", version="1"
    )
    versions: list[Any] = []

    def loader(uri: str) -> tuple[Bundle, dict[str, float]]:
        nxt = versions.pop(0) if versions else bundle
        if isinstance(nxt, Exception):
            raise nxt
        return nxt, {"pr_auc": 0.9}

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('api') / 'audit.db'}")
    holder = ModelHolder("models:/flowrisk@champion", loader)
    app = create_app(
        ApiConfig(
            store=store,
            holder=holder,
            dataset=DatasetSource(t.folder, t.as_of),
            max_body_bytes=2 * 1024 * 1024,
            max_transactions=3_000,
            batch_max=5,
        )
    )
    _, analyst = store.create_key("analyst", "test analyst")
    _, admin = store.create_key("admin", "test admin")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Service(client, store, holder, analyst, admin, versions)
