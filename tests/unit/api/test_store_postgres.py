"""The audit trail on a real PostgreSQL server (127.0.0.1:5432, trust authentication, as on the
development and CI machines), reached through FLOWRISK_DATABASE_URL like a deployment would.
Skipped, with the reason shown in the summary, where no server answers."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.service import ModelHolder
from flowrisk.audit import Store
from flowrisk.models.registry import Bundle
from tests.conftest import TrainedWorld
from tests.unit.api.payloads import payload_for

SERVER = os.environ.get("FLOWRISK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh database on the server, dropped afterwards."""
    admin = sa.create_engine(f"{SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {SERVER}: {str(exc).splitlines()[0]}")
    name = f"flowrisk_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_audit_trail_on_postgresql(
    database_url: str,
    trained_world: TrainedWorld,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from flowrisk.cli import app as cli
    from flowrisk.config import get_settings

    monkeypatch.setenv("FLOWRISK_DATABASE_URL", database_url)
    monkeypatch.setenv("FLOWRISK_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        created = runner.invoke(cli, ["keys", "create", "--role", "analyst", "--label", "pg"])
        assert created.exit_code == 0, created.output
        key = created.stdout.strip().splitlines()[-1]
        store = Store(get_settings().audit_url)
        assert store.engine.dialect.name == "postgresql"
        t = trained_world
        bundle = Bundle(model=t.model, baselines=t.baselines, uri="models:/flowrisk/1", version="1")
        app = create_app(
            ApiConfig(
                store=store, holder=ModelHolder("models:/flowrisk/1", lambda uri: (bundle, {}))
            )
        )
        payload = payload_for(t.frames, t.labels["entity_id"][2], t.as_of)
        with TestClient(app) as client:
            ok = client.post(
                "/v1/scores", json=payload, headers={"X-API-Key": key, "X-Purpose": "case PG-1"}
            )
            refused = client.post("/v1/scores", json=payload)
        assert ok.status_code == 200 and refused.status_code == 401
        rows = list(store.audit_rows())
        assert [r["status"] for r in rows] == [200, 401]
        assert rows[0]["purpose"] == "case PG-1" and rows[0]["score"] == ok.json()["score"]
        for statement in ("UPDATE audit SET band = 'low'", "DELETE FROM audit", "TRUNCATE audit"):
            with (
                pytest.raises(sa.exc.DatabaseError, match="append-only"),
                store.engine.begin() as c,
            ):
                c.exec_driver_sql(statement)
        out = tmp_path / "audit.jsonl"
        exported = runner.invoke(cli, ["audit", "export", "--out", str(out), "--format", "jsonl"])
        assert exported.exit_code == 0 and len(out.read_text().splitlines()) == 2
        store.engine.dispose()
    finally:
        get_settings.cache_clear()
