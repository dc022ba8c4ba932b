"""Console sessions, kept server-side in the service's database: a sign-in turns a verified API
key into a random session token whose SHA-256 (never the token) is stored with the key id, its
role, the time it expires and the case reference the analyst works on. A session ends at its
expiry, at sign-out, or as soon as its key is revoked (every lookup joins the key's row).

The table is created by ``flowrisk audit init`` (as the database's owner, on PostgreSQL) or
on first use; ``scripts/postgres-audit-role.sql`` lets the service role read, insert and
update it, never delete from it.

The CSRF token of a session is derived from its token (an HMAC), so it needs no storage and
changes with every sign-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from flowrisk.audit import Store
from flowrisk.audit.engine import write_transaction
from flowrisk.audit.tables import api_keys
from flowrisk.errors import AuditUnavailable

__all__ = ["Session", "SessionStore", "console_sessions", "csrf_token", "token_digest"]

metadata = sa.MetaData()
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(16), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("purpose", sa.String(200), nullable=True),
)
_CSRF_CONTEXT = b"flowrisk console csrf"


def token_digest(token: str) -> str:
    """What the database stores of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of the session whose token is ``token``."""
    return hmac.new(token.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Session:
    """A live session: whose key, which role, its label, the case reference, its expiry."""

    key_id: str
    role: str
    label: str
    purpose: str | None
    expires_at: datetime


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SessionStore:
    """Sessions in the audit store's database (the table is created on first use)."""

    def __init__(self, store: Store, minutes: int) -> None:
        self.store, self.lifetime = store, timedelta(minutes=minutes)
        self._ready = False

    @property
    def lifetime_seconds(self) -> int:
        """How long a session lasts, in seconds (the cookie's max age)."""
        return int(self.lifetime.total_seconds())

    def _unavailable(self, exc: Exception) -> AuditUnavailable:
        return AuditUnavailable(f"console sessions in {self.store.safe_url}: {exc}")

    def create_table(self) -> None:
        """Create the sessions table when the database has none (``flowrisk audit init`` does
        it as the owner; the service otherwise does it on first use)."""
        if not self._ready:
            try:
                metadata.create_all(self.store.engine, checkfirst=True)
            except sa.exc.SQLAlchemyError as exc:
                raise self._unavailable(exc) from exc
            self._ready = True

    def open(self, key_id: str, role: str) -> str:
        """A new session for a verified key; returns its token (kept only by the browser)."""
        self.create_table()
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        row = {
            "token_hash": token_digest(token),
            "key_id": key_id,
            "role": role,
            "created_at": now,
            "expires_at": now + self.lifetime,
        }
        try:
            with write_transaction(self.store.engine) as conn:
                conn.execute(console_sessions.insert().values(**row))
        except sa.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc
        return token

    def find(self, token: str) -> Session | None:
        """The live session of ``token``: not ended, not expired, its key still active."""
        self.create_table()
        s, k = console_sessions.c, api_keys.c
        query = (
            sa.select(s.key_id, s.role, s.purpose, s.expires_at, k.label)
            .join(api_keys, api_keys.c.key_id == s.key_id)
            .where(
                s.token_hash == token_digest(token), s.ended_at.is_(None), k.revoked_at.is_(None)
            )
        )
        try:
            with self.store.engine.connect() as conn:
                row = conn.execute(query).first()
        except sa.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc
        if row is None or _utc(row.expires_at) <= datetime.now(UTC):
            return None
        return Session(row.key_id, row.role, row.label or "", row.purpose, _utc(row.expires_at))

    def _update(self, token: str, **values: object) -> None:
        self.create_table()
        where = sa.and_(
            console_sessions.c.token_hash == token_digest(token),
            console_sessions.c.ended_at.is_(None),
        )
        try:
            with write_transaction(self.store.engine) as conn:
                conn.execute(console_sessions.update().where(where).values(**values))
        except sa.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    def set_purpose(self, token: str, purpose: str) -> None:
        """Record the case reference the session's views are for (until changed)."""
        self._update(token, purpose=purpose)

    def end(self, token: str) -> None:
        """End the session now (sign-out): its token opens nothing any more."""
        self._update(token, ended_at=datetime.now(UTC))
