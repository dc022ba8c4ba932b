"""What differs between SQLite and PostgreSQL under the audit store: bounded connections, the
write lock taken before the chain's head is read, the ids handed out and their high-water
mark, and the check that the append-only guards are still in place.

Ids are handed out under the write lock, from a high-water mark that rolls back with the
append: SQLite's ``sqlite_sequence`` (AUTOINCREMENT), PostgreSQL's one-row ``audit_high_water``
raised in the append's own transaction. A failed append therefore leaves no gap, a deleted tail
leaves the mark above the last row, and no id is handed out twice."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from flowrisk.audit.tables import (
    GUARD_MESSAGE,
    PG_FUNCTION,
    PG_TRIGGERS,
    SQLITE_GUARDS,
    audit,
    pg_trigger_definition,
)
from flowrisk.errors import AuditChainBroken, AuditUnavailable, ConfigError

__all__ = [
    "WRITE",
    "chain_bounds",
    "guard_problems",
    "high_water",
    "make_engine",
    "next_ids",
    "sqlite_file",
    "wait_for_appends",
    "write_transaction",
]

WRITE = "flowrisk_write"  # execution option: this connection's transaction will write
LOCK_KEY = 0x666C6F777269736B  # "flowrisk": the advisory lock that serialises appends


def _sqlite_begin(conn: sa.Connection) -> None:
    """SQLAlchemy emits BEGIN itself (pysqlite's own transaction handling is off): a writer
    takes the write lock first (``BEGIN IMMEDIATE``), so two processes never read the same
    chain head; a reader gets a consistent snapshot."""
    write = conn.get_execution_options().get(WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_connect(read_only: bool) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN: see _sqlite_begin
        if read_only:
            dbapi_connection.execute("PRAGMA query_only=ON")
        else:
            # write-ahead log: one sync per commit, still durable with synchronous=FULL, and
            # readers (export, verify) do not block the service's writes
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=FULL")

    return connect


def make_engine(url: str, timeout: float, read_only: bool = False) -> sa.Engine:
    """An engine whose every wait is bounded by ``timeout`` seconds: SQLite's busy timeout;
    PostgreSQL's connect, lock and statement timeouts; the pool's checkout."""
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": timeout}, pool_timeout=timeout)
        sa.event.listen(engine, "connect", _sqlite_connect(read_only))
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    args: dict[str, Any] = {}
    if backend == "postgresql":
        ms = max(1, int(timeout * 1000))
        args = {
            "connect_timeout": max(2, math.ceil(timeout)),  # libpq's least is 2 s
            "options": f"-c lock_timeout={ms} -c statement_timeout={ms}",
        }
        if read_only:
            args["options"] += " -c default_transaction_read_only=on"
    # a server connection can drop between requests: test it before use
    return sa.create_engine(url, connect_args=args, pool_pre_ping=True, pool_timeout=timeout)


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction holding the audit write lock, committed on exit: ``BEGIN IMMEDIATE`` on
    SQLite, a transaction-scoped advisory lock on PostgreSQL (``LOCK TABLE`` needs rights the
    service's role does not have)."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _signed(LOCK_KEY)}
                )
            yield conn


def _signed(key: int) -> int:
    return key - (1 << 64) if key >= 1 << 63 else key


def wait_for_appends(conn: sa.Connection) -> None:
    """PostgreSQL: hold the advisory lock shared until the transaction ends, so that appends
    in flight have committed and none starts meanwhile."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": _signed(LOCK_KEY)})


def high_water(conn: sa.Connection) -> int | None:
    """The highest audit id ever handed out (None, or 0 on PostgreSQL, when none was), deleted
    rows included."""
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").scalar()
    if conn.dialect.name == "postgresql":
        if conn.exec_driver_sql("SELECT to_regclass('audit_high_water')").scalar() is None:
            raise AuditChainBroken(
                None, "the id high-water table audit_high_water was dropped outside flowrisk"
            )
        return conn.exec_driver_sql("SELECT max(id) FROM audit_high_water").scalar()
    return conn.execute(sa.select(sa.func.max(audit.c.id))).scalar()


def next_ids(conn: sa.Connection, count: int, last_id: int | None) -> list[int]:
    """``count`` fresh ids after both the high-water mark and the last row, never one handed
    out before (inside the write lock). On PostgreSQL the mark is raised in this transaction:
    if the append rolls back, so does the mark, and the next append takes the same ids."""
    if conn.dialect.name == "postgresql":
        raised = conn.execute(
            sa.text("UPDATE audit_high_water SET id = GREATEST(id, :last) + :count RETURNING id"),
            {"last": last_id or 0, "count": count},
        ).all()
        if len(raised) != 1:
            where = conn.engine.url.render_as_string(hide_password=True)
            raise AuditUnavailable(
                f"audit store {where}: the id high-water table audit_high_water holds "
                f"{len(raised)} rows instead of one (`flowrisk audit verify` reports it)"
            )
        top = int(raised[0][0])
        return list(range(top - count + 1, top + 1))
    start = max(high_water(conn) or 0, last_id or 0) + 1
    return list(range(start, start + count))


def guard_problems(conn: sa.Connection) -> list[str]:
    """What is wrong with the append-only guards of the audit table (empty when intact)."""
    if conn.dialect.name == "sqlite":
        found: dict[str, str] = dict(
            conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
            ).all()
        )
        problems = [
            f"trigger {name} is missing" if name not in found else f"trigger {name} was altered"
            for name, sql in SQLITE_GUARDS.items()
            if found.get(name) != sql
        ]
        return problems + [f"unexpected trigger {n}" for n in found if n not in SQLITE_GUARDS]
    if conn.dialect.name == "postgresql":
        return _pg_guard_problems(conn)
    return []


def _pg_guard_problems(conn: sa.Connection) -> list[str]:
    """Each guard trigger of ``audit`` and ``audit_high_water`` present, enabled and as
    created; the high-water row single."""
    found = {
        row.tgname: row
        for row in conn.execute(
            sa.text(
                "SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid) AS definition, "
                "p.prosrc, n.nspname FROM pg_trigger t "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE t.tgrelid IN (to_regclass('audit'), to_regclass('audit_high_water')) "
                "AND NOT t.tgisinternal"
            )
        )
    }
    problems = []
    for name in PG_TRIGGERS:
        row = found.get(name)
        if row is None:
            problems.append(f"trigger {name} is missing")
            continue
        if row.tgenabled not in ("O", "A"):
            problems.append(f"trigger {name} is disabled")
        schema = str(row.nspname)
        expected = pg_trigger_definition(name, schema)
        qualified = expected.replace(f" {PG_FUNCTION}(", f" {schema}.{PG_FUNCTION}(")
        if str(row.definition) not in (expected, qualified) or GUARD_MESSAGE not in str(row.prosrc):
            problems.append(f"trigger {name} was altered")
    return problems + _pg_high_water_problems(conn)


def _pg_high_water_problems(conn: sa.Connection) -> list[str]:
    """The high-water table must hold exactly one row (a missing row hides a deleted tail)."""
    if conn.exec_driver_sql("SELECT to_regclass('audit_high_water')").scalar() is None:
        return ["table audit_high_water is missing"]
    count = int(conn.exec_driver_sql("SELECT count(*) FROM audit_high_water").scalar() or 0)
    return [] if count == 1 else [f"table audit_high_water holds {count} rows instead of one"]


def sqlite_file(database: str | None, safe_url: str, read_only: bool) -> None:
    """A reader refuses a SQLite file that is not there (opening it would create it); a
    writer creates its folder."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    if read_only and not Path(database).is_file():
        raise ConfigError(f"audit database {safe_url}: no such file")
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def chain_bounds(conn: sa.Connection) -> tuple[int | None, int | None]:
    """The last id to walk to and the id high-water mark, read consistently: SQLite's read
    transaction is one snapshot; on PostgreSQL a shared advisory lock waits for appends in
    flight, so every id up to the high-water mark is committed (or was never written)."""
    pg = conn.dialect.name == "postgresql"
    if pg:
        wait_for_appends(conn)
    top = conn.execute(sa.select(sa.func.max(audit.c.id))).scalar()
    high = high_water(conn)
    if pg:
        conn.commit()  # release the lock: the walk below needs no lock
    return top, high
