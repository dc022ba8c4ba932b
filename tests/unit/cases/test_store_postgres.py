"""Cases on a real PostgreSQL server (127.0.0.1:5432, trust authentication): the migrations,
the lifecycle with its audit rows, the append-only timeline, and the service role of
scripts/postgres-audit-role.sql. Skipped, with the reason shown, where no server answers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flowrisk.api.console.sessions import SessionStore
from flowrisk.audit import Store
from flowrisk.cases import Alert, CaseStore
from flowrisk.cases.migrate import current_revision, head_revision
from flowrisk.cases.tables import VERSION_TABLE
from flowrisk.errors import ConfigError
from tests.unit.audit.test_store_postgres import Roles, _run_script
from tests.unit.cases.conftest import ANALYST, Clock


def test_migrations_and_lifecycle_on_postgresql(pg_url: str, clock: Clock) -> None:
    cases = CaseStore(pg_url, timeout=2.0, now=clock)
    assert cases.engine.dialect.name == "postgresql"
    assert current_revision(cases.engine) == head_revision()
    case = cases.open("E000010", ANALYST, alert=Alert("run-1", 88.0, "high"))
    cases.assign(case.id, "alice", ANALYST)
    cases.set_status(case.id, "in_review", ANALYST)
    cases.note(case.id, "café owner, cash deposits — see the invoices", ANALYST)
    clock.move(days=1)
    closed = cases.dispose(case.id, "confirmed_suspicious", ANALYST)
    assert closed.status == "reported" and closed.decided_at == clock.at
    events = cases.get(case.id).events
    assert [e.kind for e in events] == ["opened", "assignment", "status", "note", "disposition"]
    assert events[3].text.startswith("café owner")
    assert cases.statuses(["E000010"]) == {"E000010": "reported"}
    assert cases.audit.check_chain().rows == 5
    for statement in ("UPDATE case_events SET text = ''", "DELETE FROM case_events",
                      "TRUNCATE case_events CASCADE"):  # fmt: skip
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), cases.engine.begin() as c:
            c.exec_driver_sql(statement)
    again = CaseStore(pg_url, now=clock)  # a second start migrates nothing
    with again.engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {VERSION_TABLE}").scalar() == 1
    assert len(again.get(case.id).events) == 5
    cases.engine.dispose()
    again.engine.dispose()


def test_the_service_role_works_cases_but_cannot_rewrite_them(roles: Roles, clock: Clock) -> None:
    Store(roles.owner_url, timeout=1.0).engine.dispose()  # an audit database from before
    done = _run_script(roles)
    assert done.returncode == 3 and "cases" in done.stderr and "audit init" in done.stderr
    CaseStore(roles.owner_url, timeout=1.0).engine.dispose()  # what `flowrisk audit init` does
    SessionStore(Store(roles.owner_url, timeout=1.0), 60).create_table()  # so does the console's
    done = _run_script(roles)
    assert done.returncode == 0, done.stderr
    service = CaseStore(roles.service_url, timeout=1.0, now=clock)
    case = service.open("E1", ANALYST)
    service.note(case.id, "seen", ANALYST)
    service.dispose(case.id, "false_positive", ANALYST)
    assert service.dismissed_before(["E1"]) == {"E1"}
    for statement, refusal in [
        ("UPDATE case_events SET text = ''", "permission denied"),
        ("DELETE FROM case_events", "permission denied"),
        ("DELETE FROM cases", "permission denied"),
        ("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only", "must be owner"),
        (f"DELETE FROM {VERSION_TABLE}", "permission denied"),
    ]:
        with pytest.raises(sa.exc.ProgrammingError, match=refusal), service.engine.begin() as c:
            c.exec_driver_sql(statement)
    service.engine.dispose()


def test_a_service_role_that_cannot_migrate_is_told_who_can(roles: Roles) -> None:
    Store(roles.owner_url, timeout=1.0).engine.dispose()
    engine = sa.create_engine(roles.admin_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:  # the audit tables granted, the cases never migrated
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {roles.service}")
        conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {roles.service}")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON audit TO {roles.service}")
    engine.dispose()
    with pytest.raises(ConfigError, match=r"cases' migrations.*flowrisk audit init"):
        CaseStore(roles.service_url, timeout=1.0)
