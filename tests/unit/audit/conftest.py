"""Audit stores on real SQLite files (and, where a server answers, on a throwaway PostgreSQL
database), and the rows the service would append."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flowrisk.audit import Store

SERVER = os.environ.get("FLOWRISK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


def audit_row(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A row as the API appends it for a scored entity."""
    row: dict[str, Any] = {
        "at": datetime.now(UTC),
        "key_id": "0a1b2c3d",
        "role": "analyst",
        "actor": None,
        "method": "GET",
        "route": f"/v1/entities/E{n:06d}/score",
        "status": 200,
        "entity_id": f"E{n:06d}",
        "purpose": "case 2026-001",
        "model_version": "3",
        "score": 0.125 + n / 1e6,
        "band": "low",
        "request_hash": "ab" * 32,
        "request_id": secrets.token_hex(8),
    }
    row.update(changes)
    return row


def fill(store: Store, count: int, batch: int = 1) -> None:
    """Append ``count`` rows, ``batch`` per transaction."""
    for start in range(0, count, batch):
        store.append([audit_row(n) for n in range(start, min(count, start + batch))])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    s = Store(sqlite_url, timeout=1.0)
    yield s
    s.engine.dispose()


def admin_engine() -> sa.Engine:
    """The server's superuser connection (autocommit), or skip when no server answers."""
    engine = sa.create_engine(f"{SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"no PostgreSQL server answers at {SERVER}: {str(exc).splitlines()[0]}")
    return engine


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the server (as its superuser), dropped afterwards."""
    admin = admin_engine()
    name = f"flowrisk_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
