"""The service's database: API keys (only their hashes) and the append-only, hash-chained audit
trail of every lookup. SQLite under ``FLOWRISK_HOME`` by default, PostgreSQL (or any
SQLAlchemy URL) through ``FLOWRISK_DATABASE_URL``.

Who looked up whom, when and why is itself sensitive in a financial-intelligence unit: rows are
only ever inserted (triggers refuse updates, deletes and, on SQLite, an ``INSERT OR REPLACE``),
each row is chained to the one before by its hash (``chain``), ids are never reused, and every
write is bounded in time: it commits durably or raises ``AuditUnavailable``. Guards are
installed once, when the database is created; a guard missing later is reported by
``check_chain`` as tampering, never silently put back."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa

from flowrisk.audit.chain import (
    GENESIS,
    HASHED,
    ChainReport,
    ChainWalk,
    clean_row,
    seal_row,
    utc,
)
from flowrisk.audit.engine import (
    chain_bounds,
    guard_problems,
    make_engine,
    next_ids,
    sqlite_file,
    write_transaction,
)
from flowrisk.audit.export import write_export
from flowrisk.audit.tables import (
    AUDIT_COLUMNS,
    api_keys,
    audit,
    audit_high_water,
    audit_probe,
    guard_statements,
    metadata,
    tables_for,
)
from flowrisk.errors import (
    AuditChainBroken,
    AuditUnavailable,
    ConfigError,
    InvalidParameter,
)
from flowrisk.schema import KEY_ROLES

__all__ = ["AUDIT_COLUMNS", "ROLES", "ApiKey", "ChainReport", "Store"]

ROLES = KEY_ROLES  # weakest first: a role may use the routes of the roles before it
KEY_PREFIX = "frk"
SETUP = "see docs/audit.md"
T = TypeVar("T")


@dataclass(frozen=True)
class ApiKey:
    """A verified key: who is calling and with which role."""

    key_id: str
    role: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _command_row(command: str, key_id: str, role: str, actor: str | None) -> dict[str, Any]:
    """The audit row of a key created or revoked from the command line."""
    request = json.dumps({"command": command, "key_id": key_id, "role": role}, sort_keys=True)
    return {
        "at": datetime.now(UTC),
        "key_id": key_id,
        "role": role,
        "actor": actor,
        "method": "CLI",
        "route": command,
        "status": 0,  # the command's exit status
        "request_hash": hashlib.sha256(request.encode()).hexdigest(),
        "request_id": uuid.uuid4().hex,
    }


class Store:
    """Keys and audit rows in one database. A new database is created with its tables and
    guards; an existing one is only checked (``read_only``: never written at all, for export
    and verify)."""

    def __init__(self, url: str, timeout: float = 2.0, *, read_only: bool = False) -> None:
        self.url, self.timeout, self.read_only = url, timeout, read_only
        try:
            parsed = sa.engine.make_url(url)
            if parsed.get_backend_name() == "sqlite":
                sqlite_file(parsed.database, self.safe_url, read_only)
            self.engine = make_engine(url, timeout, read_only)
            self._open()
        except (sa.exc.SQLAlchemyError, ModuleNotFoundError, OSError) as exc:
            raise ConfigError(f"audit database {self.safe_url}: {_first_line(exc)}") from exc

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        try:
            return sa.engine.make_url(self.url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            return "(unparsable URL)"

    def _open(self) -> None:
        with self.engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
        if "audit" not in present:
            if self.read_only:
                raise ConfigError(f"audit database {self.safe_url} holds no audit trail")
            self._create()
            return
        missing = [t.name for t in tables_for(self.engine.dialect.name) if t.name not in present]
        with self.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("audit")}
        lacking = [c for c in AUDIT_COLUMNS if c not in columns]
        if lacking or "audit_high_water" in missing:
            what = (
                f"its audit table has no {', '.join(lacking)} (no hash chain)"
                if lacking
                else "it has no audit_high_water table (its ids came from a sequence, which a "
                "failed append leaves with a gap)"
            )
            raise ConfigError(
                f"audit database {self.safe_url} was created by an earlier flowrisk: {what}. "
                f"Export it with that version, move it aside and start again to create a new "
                f"one ({SETUP})"
            )
        if missing:
            raise ConfigError(
                f"audit database {self.safe_url} lacks the table(s) {', '.join(missing)}: "
                f"it was damaged or set up by hand ({SETUP})"
            )

    def _create(self) -> None:
        """Tables, the probe row, the high-water row (PostgreSQL) and then the guards, in one
        transaction under the write lock (two workers starting on a new database create it
        once)."""
        try:
            with write_transaction(self.engine) as conn:
                if sa.inspect(conn).has_table("audit"):
                    return
                tables = tables_for(conn.dialect.name)
                metadata.create_all(conn, tables=tables)
                conn.execute(audit_probe.insert().values(id=1, at=datetime.now(UTC)))
                if audit_high_water in tables:  # before its guard, which refuses inserts
                    conn.execute(audit_high_water.insert().values(id=0))
                for statement in guard_statements(conn.dialect.name):
                    conn.exec_driver_sql(statement)
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(
                f"audit database {self.safe_url}: cannot create the audit tables "
                f"({_first_line(exc)}); on PostgreSQL the owner creates them with "
                f"`flowrisk audit init` ({SETUP})"
            ) from exc

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        """Database and file-system failures as ``AuditUnavailable`` naming the store."""
        try:
            yield
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise AuditUnavailable(f"audit store {self.safe_url}: {_first_line(exc)}") from exc

    def unavailable(self) -> AbstractContextManager[None]:
        """Database failures as ``AuditUnavailable`` naming the store, for the other tables of
        this database (the cases)."""
        return self._unavailable()

    def ping(self) -> None:
        """Raise when the database does not answer."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def probe_write(self) -> None:
        """Rewrite the heartbeat row under the audit write lock: a real, committed write within
        the timeout, or ``AuditUnavailable`` (what readiness asks)."""
        with self._unavailable(), write_transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                # the locks an append's INSERT and id UPDATE take: a session holding the trail
                # or its high-water mark locked fails the probe as it fails appends
                conn.exec_driver_sql("LOCK TABLE audit, audit_high_water IN ROW EXCLUSIVE MODE")
            done = conn.execute(
                audit_probe.update().where(audit_probe.c.id == 1).values(at=datetime.now(UTC))
            )
            if done.rowcount != 1:
                raise AuditUnavailable(f"audit store {self.safe_url}: its probe row is missing")

    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert audit rows in one transaction, chained to the trail's head, durably
        committed; else ``AuditUnavailable`` within about the timeout."""
        error = self.append_groups([rows])[0]
        if error is not None:
            raise error

    def append_groups(
        self, groups: Sequence[Sequence[Mapping[str, Any]]]
    ) -> list[AuditUnavailable | None]:
        """Several requests' audit rows, in order, in one transaction (one commit, one sync
        to disk): each group is checked alone, so an unstorable group fails alone, and the
        others commit together or not at all. Per group: None once committed, else why not."""
        errors: list[AuditUnavailable | None] = [None] * len(groups)
        clean: list[dict[str, Any]] = []
        for i, rows in enumerate(groups):
            try:
                clean += [clean_row(r) for r in rows]
            except (InvalidParameter, ValueError, TypeError) as exc:
                errors[i] = AuditUnavailable(f"audit store {self.safe_url}: unstorable row: {exc}")
        if not clean:
            return errors
        try:
            with self._unavailable(), write_transaction(self.engine) as conn:
                _append_in(conn, clean)
        except AuditUnavailable as exc:
            return [error or exc for error in errors]
        return errors

    def append_with(
        self, work: Callable[[sa.Connection], tuple[T, Sequence[Mapping[str, Any]]]]
    ) -> T:
        """Run ``work`` in one transaction under the audit write lock and append the audit rows
        it returns in the same transaction: its change commits only with its audit rows (else
        ``AuditUnavailable``, or the error ``work`` raised, and nothing is written)."""
        with self._unavailable(), write_transaction(self.engine) as conn:
            result, rows = work(conn)
            try:
                clean = [clean_row(r) for r in rows]
            except (InvalidParameter, ValueError, TypeError) as exc:
                raise AuditUnavailable(
                    f"audit store {self.safe_url}: unstorable row: {exc}"
                ) from exc
            _append_in(conn, clean)
        return result

    def create_key(self, role: str, label: str = "", actor: str | None = None) -> tuple[str, str]:
        """A new key for ``role`` and its audit row, in one transaction: returns its id and the
        key itself (shown once, never stored: only its SHA-256 is)."""
        if role not in ROLES:
            raise InvalidParameter("role", f"must be one of {', '.join(ROLES)}, got {role!r}")
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        with self._unavailable(), write_transaction(self.engine) as conn:
            conn.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    key_hash=_digest(secret),
                    role=role,
                    label=label,
                    created_at=datetime.now(UTC),
                )
            )
            _append_in(conn, [clean_row(_command_row("flowrisk keys create", key_id, role, actor))])
        return key_id, f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke_key(self, key_id: str, actor: str | None = None) -> bool:
        """Revoke a key and audit it, in one transaction; False when no such active key
        exists."""
        active = sa.and_(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        with self._unavailable(), write_transaction(self.engine) as conn:
            role = conn.execute(sa.select(api_keys.c.role).where(active)).scalar()
            if role is None:
                return False
            conn.execute(api_keys.update().where(active).values(revoked_at=datetime.now(UTC)))
            _append_in(conn, [clean_row(_command_row("flowrisk keys revoke", key_id, role, actor))])
        return True

    def verify(self, presented: str) -> ApiKey | None:
        """The key's identity if ``presented`` is an active key, else None
        (``AuditUnavailable`` when the database fails)."""
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not key_id or not secret:
            return None
        with self._unavailable(), self.engine.connect() as conn:
            row = conn.execute(
                sa.select(api_keys.c.key_hash, api_keys.c.role).where(
                    api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.key_hash, _digest(secret)):
            return None
        return ApiKey(key_id=key_id, role=row.role)

    def check_chain(self, head: str | None = None) -> ChainReport:
        """Walk the trail in id order (streamed: constant memory), recomputing every hash;
        ``AuditChainBroken`` names the first row rewritten, missing or out of chain, a deleted
        tail, a recorded ``head`` hash the chain no longer holds, or a guard dropped."""
        walk = ChainWalk(head)
        names = [*HASHED, "row_hash"]
        with self._unavailable(), self.engine.connect() as conn:
            top, high = chain_bounds(conn)
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # a long walk is fine
            query = (
                sa.select(*[audit.c[n] for n in names])
                .where(audit.c.id <= (top or 0))
                .order_by(audit.c.id)
                .execution_options(yield_per=10_000)
            )
            try:
                walk.feed(dict(zip(names, row, strict=True)) for row in conn.execute(query))
            except ValueError as exc:  # a value the column's type cannot hold (e.g. a time)
                after = walk.last_id or 0
                raise AuditChainBroken(
                    after + 1,
                    f"the audit row after row {after} cannot be read ({_first_line(exc)}): "
                    "it was rewritten outside flowrisk",
                ) from exc
            problems = guard_problems(conn)
        report = walk.finish(high)
        if problems:
            raise AuditChainBroken(
                None,
                "the append-only guards of the audit table were tampered with: "
                + "; ".join(problems),
            )
        return report

    def audit_rows(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Audit rows in id order (optionally from ``since``), times as aware UTC."""
        query = sa.select(audit).order_by(audit.c.id)
        if since is not None:
            query = query.where(audit.c.at >= utc(since))
        with self._unavailable(), self.engine.connect() as conn:
            for row in conn.execute(query.execution_options(yield_per=10_000)):
                out = dict(row._mapping)
                out["at"] = utc(out["at"])
                yield out

    def export(
        self, path: Path, fmt: Literal["csv", "jsonl"] = "csv", since: datetime | None = None
    ) -> int:
        """Write the audit trail, with key labels, to ``path`` atomically; returns the number
        of rows."""
        try:
            with self._unavailable():
                start = None if since is None else utc(since)
                return write_export(self.engine, Path(path), fmt, start)
        except InvalidParameter:  # the output cannot be written (named by io)
            raise
        except ValueError as exc:  # a stored value its column's type cannot hold
            raise AuditUnavailable(
                f"audit store {self.safe_url}: a row cannot be read ({_first_line(exc)})"
            ) from exc


def _append_in(conn: sa.Connection, clean: list[dict[str, Any]]) -> None:
    """Chain ``clean`` rows to the head and insert them (inside the write lock)."""
    last = conn.execute(
        sa.select(audit.c.id, audit.c.row_hash).order_by(audit.c.id.desc()).limit(1)
    ).first()
    prev = last.row_hash if last is not None else GENESIS
    sealed = []
    for row, row_id in zip(
        clean, next_ids(conn, len(clean), last.id if last else None), strict=True
    ):
        sealed.append(seal_row(row, row_id, prev))
        prev = sealed[-1]["row_hash"]
    conn.execute(audit.insert(), sealed)
