"""Case stores on real SQLite files (and the audit tests' PostgreSQL databases and roles),
with a clock tests can move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowrisk.cases import Actor, CaseStore
from tests.unit.audit.conftest import pg_url  # noqa: F401 (the PostgreSQL fixtures)
from tests.unit.audit.test_store_postgres import roles  # noqa: F401

ANALYST = Actor(
    name="0a1b2c3d", key_id="0a1b2c3d", role="analyst", method="POST", origin="/ui/cases"
)


class Clock:
    """A clock that stands still until moved."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def cases(url: str, clock: Clock) -> Iterator[CaseStore]:
    store = CaseStore(url, timeout=1.0, now=clock)
    yield store
    store.engine.dispose()
