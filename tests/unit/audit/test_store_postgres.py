"""The audit trail on a real PostgreSQL server (127.0.0.1:5432, trust authentication, as on the
development and CI machines): through the service and the command line, the hash chain and its
tampering, text PostgreSQL would refuse, locks and a server gone away, and the restricted role
of scripts/postgres-audit-role.sql. Skipped, with the reason shown, where no server answers."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from flowrisk.api import ApiConfig, create_app
from flowrisk.api.console.sessions import SessionStore
from flowrisk.api.service import ModelHolder
from flowrisk.audit import Store
from flowrisk.cases import CaseStore
from flowrisk.errors import AuditChainBroken, AuditUnavailable, ConfigError
from flowrisk.models.registry import Bundle
from tests.conftest import TrainedWorld
from tests.unit.api.payloads import payload_for
from tests.unit.audit.conftest import SERVER, admin_engine, audit_row, fill

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "postgres-audit-role.sql"


def test_audit_trail_on_postgresql(
    pg_url: str,
    trained_world: TrainedWorld,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from flowrisk.cli import app as cli
    from flowrisk.config import get_settings

    monkeypatch.setenv("FLOWRISK_DATABASE_URL", pg_url)
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
        assert [(r["method"], r["status"]) for r in rows] == [
            ("CLI", 0),
            ("POST", 200),
            ("POST", 401),
        ]
        assert rows[1]["purpose"] == "case PG-1" and rows[1]["score"] == ok.json()["score"]
        assert store.check_chain().rows == 3
        for statement in ("UPDATE audit SET band = 'low'", "DELETE FROM audit", "TRUNCATE audit"):
            with (
                pytest.raises(sa.exc.DatabaseError, match="append-only"),
                store.engine.begin() as c,
            ):
                c.exec_driver_sql(statement)
        out = tmp_path / "audit.jsonl"
        exported = runner.invoke(cli, ["audit", "export", "--out", str(out), "--format", "jsonl"])
        assert exported.exit_code == 0 and len(out.read_text().splitlines()) == 3
        verified = runner.invoke(cli, ["audit", "verify"])
        assert verified.exit_code == 0 and "3 rows checked" in verified.stdout
        store.engine.dispose()
    finally:
        get_settings.cache_clear()


def test_text_postgresql_refuses_is_stored_escaped(pg_url: str) -> None:
    store = Store(pg_url, timeout=1.0)
    store.append([audit_row(1, entity_id="E\x00X", purpose="why\x00\ud800", method="M" * 40)])
    row = next(iter(store.audit_rows()))
    assert (row["entity_id"], row["purpose"]) == ("E\\x00X", "why\\x00\\ud800")
    assert row["method"] == "M" * 16 and row["at"].utcoffset().total_seconds() == 0
    assert store.check_chain().rows == 1
    store.engine.dispose()


def test_tampering_by_the_owner_is_named(pg_url: str) -> None:
    store = Store(pg_url, timeout=1.0)
    fill(store, 8, batch=3)
    with store.engine.begin() as c:  # the superuser can; the service's role cannot (below)
        c.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
    assert "trigger audit_append_only is disabled" in str(_broken(store))
    with store.engine.begin() as c:
        c.exec_driver_sql("UPDATE audit SET purpose = 'routine' WHERE id = 2")
    assert _broken(store).row_id == 2
    with store.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM audit WHERE id IN (2, 8)")
    error = _broken(store)
    assert error.row_id == 2 and "audit row 2 is missing" in str(error)
    with store.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM audit WHERE id > 1")
    error = _broken(store)
    assert error.row_id == 2 and "rows 2-8 are missing after row 1" in str(error)
    store.engine.dispose()


def _broken(store: Store) -> AuditChainBroken:
    with pytest.raises(AuditChainBroken) as info:
        store.check_chain()
    return info.value


def test_a_lock_held_elsewhere_is_unavailable_within_the_timeout(pg_url: str) -> None:
    store = Store(pg_url, timeout=0.5)
    fill(store, 2)
    other = sa.create_engine(pg_url)
    append = lambda: store.append([audit_row(3)])  # noqa: E731
    for hold, calls in [
        ("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE", (append, store.probe_write)),
        ("LOCK TABLE audit_probe", (store.probe_write,)),
        ("LOCK TABLE audit_high_water", (append, store.probe_write)),
    ]:
        with other.connect() as conn:
            conn.exec_driver_sql(hold)  # held until this transaction ends
            for call in calls:
                started = time.perf_counter()
                with pytest.raises(AuditUnavailable, match=r"audit store postgresql\S+: .*timeout"):
                    call()
                assert time.perf_counter() - started < 2.0
            conn.rollback()
    store.append([audit_row(3)])
    assert store.check_chain().rows == 3
    other.dispose()
    store.engine.dispose()


def test_a_server_gone_away_is_unavailable(pg_url: str) -> None:
    store = Store(pg_url, timeout=0.5)
    _key_id, key = store.create_key("analyst")
    name = pg_url.rsplit("/", 1)[1]
    admin = admin_engine()

    def rename(old: str, new: str) -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{old}' AND pid <> pg_backend_pid()"
            )
            conn.exec_driver_sql(f"ALTER DATABASE {old} RENAME TO {new}")

    rename(name, f"{name}_away")
    try:
        for call in (
            lambda: store.append([audit_row(1)]),
            store.probe_write,
            lambda: store.verify(key),
        ):
            with pytest.raises(AuditUnavailable, match=re.escape(f"audit store {SERVER}/{name}: ")):
                call()
    finally:
        rename(f"{name}_away", name)
    store.append([audit_row(1)])
    assert store.check_chain().rows == 2 and store.verify(key) is not None
    store.engine.dispose()
    admin.dispose()
    with pytest.raises(ConfigError, match="audit database"):
        Store("postgresql+psycopg://postgres@127.0.0.1:1/none", timeout=0.5)


@dataclass
class Roles:
    owner_url: str
    service_url: str
    owner: str
    service: str
    admin_url: str


@pytest.fixture
def roles() -> Iterator[Roles]:
    """A database owned by a fresh owner role, and a fresh service role, dropped afterwards."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed (it runs scripts/postgres-audit-role.sql)")
    admin = admin_engine()
    tag = secrets.token_hex(4)
    owner, service, db = f"frk_owner_{tag}", f"frk_service_{tag}", f"frk_roles_{tag}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {owner} LOGIN")
        conn.exec_driver_sql(f"CREATE ROLE {service} LOGIN")
        conn.exec_driver_sql(f"CREATE DATABASE {db} OWNER {owner}")
    base = SERVER.split("://", 1)[1].split("@", 1)[1]
    try:
        yield Roles(
            owner_url=f"postgresql+psycopg://{owner}@{base}/{db}",
            service_url=f"postgresql+psycopg://{service}@{base}/{db}",
            owner=owner,
            service=service,
            admin_url=f"postgresql://postgres@{base}/{db}",
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {service}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {owner}")
        admin.dispose()


def _run_script(r: Roles, service: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-v",
            f"owner={r.owner}",
            "-v",
            f"service={service or r.service}",
            "-f",
            str(SCRIPT),
            r.admin_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


FORBIDDEN = [
    ("ALTER TABLE audit DISABLE TRIGGER audit_append_only", "must be owner"),
    ("ALTER TABLE audit ADD COLUMN note text", "must be owner"),
    ("DROP TRIGGER audit_append_only ON audit", "must be owner"),
    ("TRUNCATE audit", "permission denied"),
    ("DELETE FROM audit WHERE id = 2", "permission denied"),
    ("UPDATE audit SET purpose = 'routine' WHERE id = 2", "permission denied"),
    (  # PostgreSQL's INSERT OR REPLACE
        "INSERT INTO audit SELECT * FROM audit WHERE id = 2 "
        "ON CONFLICT (id) DO UPDATE SET purpose = 'routine'",
        "permission denied",
    ),
    ("CREATE TABLE audit_copy (id int)", "permission denied"),
    ("DELETE FROM audit_probe", "permission denied"),
    # the id high-water mark: the service may only raise it, through its UPDATE grant
    ("DELETE FROM audit_high_water", "permission denied"),
    ("TRUNCATE audit_high_water", "permission denied"),
    ("INSERT INTO audit_high_water VALUES (1)", "permission denied"),
    ("ALTER TABLE audit_high_water DISABLE TRIGGER audit_high_water_never_lower", "must be owner"),
    ("ALTER TABLE audit_high_water DISABLE TRIGGER audit_high_water_kept", "must be owner"),
    ("DROP TRIGGER audit_high_water_kept ON audit_high_water", "must be owner"),
    ("ALTER TABLE audit_high_water ADD COLUMN note text", "must be owner"),
    ("DELETE FROM console_sessions", "permission denied"),
    ("DROP TABLE console_sessions", "must be owner"),
]


def test_the_service_role_can_append_and_read_but_not_tamper(roles: Roles) -> None:
    with pytest.raises(ConfigError, match="audit init"):  # the service cannot create tables
        Store(roles.service_url, timeout=1.0)
    # what `flowrisk audit init` does: the audit tables and the cases' migrations, then the
    # console's sessions table
    owner = CaseStore(roles.owner_url, timeout=1.0)
    done = _run_script(roles)
    assert done.returncode == 3 and "no console_sessions table" in done.stderr
    SessionStore(owner.audit, 60).create_table()
    owner.engine.dispose()
    done = _run_script(roles)
    assert done.returncode == 0, done.stderr
    assert _run_script(roles).returncode == 0  # running it again changes nothing
    service = Store(roles.service_url, timeout=1.0)
    key_id, key = service.create_key("analyst", "service")
    fill(service, 4, batch=2)
    service.probe_write()
    sessions = SessionStore(service, 60)  # the console: open, give a purpose, end
    token = sessions.open(key_id, "analyst")
    sessions.set_purpose(token, "case 2026-018")
    found = sessions.find(token)
    assert found is not None and found.purpose == "case 2026-018"
    sessions.end(token)
    assert sessions.find(token) is None
    assert service.verify(key) is not None and service.revoke_key(key_id)
    report = service.check_chain()
    assert report.rows == 6
    reader = Store(roles.service_url, timeout=1.0, read_only=True)
    assert reader.check_chain() == report
    for statement, refusal in FORBIDDEN:
        with pytest.raises(sa.exc.ProgrammingError, match=refusal), service.engine.begin() as c:
            c.exec_driver_sql(statement)
    # granted UPDATE, but its trigger refuses lowering the mark (which would hide a deleted tail)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), service.engine.begin() as c:
        c.exec_driver_sql("UPDATE audit_high_water SET id = 1")
    assert service.check_chain() == report
    service.engine.dispose()
    reader.engine.dispose()


def test_the_script_refuses_a_service_role_that_could_alter(roles: Roles) -> None:
    done = _run_script(roles)
    assert done.returncode == 3 and "run `flowrisk audit init`" in done.stderr
    Store(roles.owner_url, timeout=1.0).engine.dispose()
    done = _run_script(roles, service=roles.owner)  # the owner as the service: refused
    assert done.returncode == 3 and "is a superuser or a member of" in done.stderr
    done = _run_script(roles, service="frk_nobody_at_all")
    assert done.returncode == 3 and "no role named frk_nobody_at_all" in done.stderr
