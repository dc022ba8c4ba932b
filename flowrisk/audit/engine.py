"""What differs between SQLite and PostgreSQL under the audit store: bounded connections, the
write lock taken before the chain's head is read, the ids handed out and their high-water
mark, and the check that the append-only guards are still in place."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from flowrisk.audit.tables import (
    GUARD_MESSAGE,
    PG_FUNCTION,
    PG_TRIGGER,
    SQLITE_GUARDS,
    audit,
)

__all__ = [
    "WRITE",
    "guard_problems",
    "high_water",
    "make_engine",
    "next_ids",
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
    """The highest audit id ever handed out (None when none was), deleted rows included."""
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").scalar()
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('audit', 'id')::regclass)"
        ).scalar()
    return conn.execute(sa.select(sa.func.max(audit.c.id))).scalar()


def next_ids(conn: sa.Connection, count: int, last_id: int | None) -> list[int]:
    """``count`` fresh ids, never one handed out before (inside the write lock)."""
    if conn.dialect.name == "postgresql":
        taken = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('audit', 'id')) "
            f"FROM generate_series(1, {int(count)})"
        ).scalars()
        return sorted(int(i) for i in taken)
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
    row = conn.execute(
        sa.text(
            "SELECT t.tgenabled, pg_get_triggerdef(t.oid) AS definition, p.prosrc "
            "FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = 'audit'::regclass AND t.tgname = :name"
        ),
        {"name": PG_TRIGGER},
    ).first()
    if row is None:
        return [f"trigger {PG_TRIGGER} is missing"]
    problems = []
    if row.tgenabled not in ("O", "A"):
        problems.append(f"trigger {PG_TRIGGER} is disabled")
    definition = str(row.definition)
    if (
        "BEFORE DELETE OR UPDATE OR TRUNCATE" not in definition
        or f"EXECUTE FUNCTION {PG_FUNCTION}()" not in definition
        or GUARD_MESSAGE not in str(row.prosrc)
    ):
        problems.append(f"trigger {PG_TRIGGER} was altered")
    return problems
