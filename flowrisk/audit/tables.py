"""The audit database's tables and the append-only guards (triggers) installed with them.

Three tables: ``api_keys`` (only hashes), ``audit`` (the hash-chained trail, ids never reused)
and ``audit_probe`` (one heartbeat row that readiness rewrites to prove a write still commits);
on PostgreSQL a fourth, ``audit_high_water``: the one-row, transactional high-water mark of the
ids handed out (SQLite's ``sqlite_sequence`` already is one, kept by AUTOINCREMENT). A sequence
would not do on PostgreSQL: ``nextval`` is not rolled back, so an append that fails would leave
a gap indistinguishable from a deleted row."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "AUDIT_COLUMNS",
    "GUARD_MESSAGE",
    "TEXT_SIZES",
    "api_keys",
    "audit",
    "audit_high_water",
    "audit_probe",
    "guard_statements",
    "metadata",
    "pg_trigger_definition",
    "tables_for",
]

GUARD_MESSAGE = "the audit trail is append-only"
# the longest text each column holds: longer values are cut to it rather than refused
TEXT_SIZES = {
    "key_id": 16,
    "role": 16,
    "actor": 64,
    "method": 16,
    "route": 200,
    "entity_id": 64,
    "purpose": 200,
    "model_version": 32,
    "band": 16,
    "request_hash": 64,
    "request_id": 64,
}

metadata = sa.MetaData()
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(16), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("label", sa.String(200), nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)


def _text(name: str, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(TEXT_SIZES[name]), nullable=nullable)


audit = sa.Table(
    "audit",
    metadata,
    # ids are always given explicitly, under the write lock. SQLite: INTEGER PRIMARY KEY
    # AUTOINCREMENT (sqlite_sequence keeps the high-water mark); PostgreSQL: a plain BIGINT,
    # no identity or sequence (audit_high_water keeps the mark, in the append's transaction)
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    _text("key_id"),  # null: no valid key was presented
    _text("role"),
    _text("actor"),  # who, when no key speaks for them (e.g. cli:<os user>)
    _text("method", nullable=False),
    _text("route", nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    _text("entity_id"),
    _text("purpose"),
    _text("model_version"),
    sa.Column("score", sa.Float(precision=53), nullable=True),
    _text("band"),
    _text("request_hash"),
    _text("request_id"),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("row_hash", sa.String(64), nullable=False),
    sqlite_autoincrement=True,
)
audit_probe = sa.Table(
    "audit_probe",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
# PostgreSQL only: one row, the highest audit id ever handed out (0 before the first)
audit_high_water = sa.Table(
    "audit_high_water",
    metadata,
    sa.Column("id", sa.BigInteger, nullable=False),
)
AUDIT_COLUMNS = [c.name for c in audit.columns]


def tables_for(dialect: str) -> list[sa.Table]:
    """The tables a database of ``dialect`` holds (the high-water table only on PostgreSQL)."""
    tables = [api_keys, audit, audit_probe]
    return [*tables, audit_high_water] if dialect == "postgresql" else tables


_RAISE = f"SELECT RAISE(ABORT, '{GUARD_MESSAGE}');"
SQLITE_GUARDS = {
    "audit_no_update": f"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN {_RAISE} END",
    "audit_no_delete": f"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN {_RAISE} END",
    # INSERT OR REPLACE deletes the old row without firing the delete trigger: refuse an
    # insert that names an id already taken
    "audit_no_replace": (
        "CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit "
        "WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id) "
        f"BEGIN {_RAISE} END"
    ),
}
PG_FUNCTION = "flowrisk_audit_append_only"
PG_TRIGGER = "audit_append_only"
# each PostgreSQL guard trigger: its table, events and level (as pg_get_triggerdef writes them)
PG_TRIGGERS = {
    PG_TRIGGER: ("audit", "DELETE OR UPDATE OR TRUNCATE", "FOR EACH STATEMENT"),
    # the high-water row is only ever raised: never deleted, emptied, doubled or lowered
    "audit_high_water_kept": (
        "audit_high_water",
        "INSERT OR DELETE OR TRUNCATE",
        "FOR EACH STATEMENT",
    ),
    "audit_high_water_never_lower": (
        "audit_high_water",
        "UPDATE",
        "FOR EACH ROW WHEN ((new.id < old.id))",
    ),
}


def pg_trigger_definition(name: str, schema: str = "") -> str:
    """The DDL of guard trigger ``name`` (its table qualified by ``schema`` when given, as
    PostgreSQL shows it)."""
    table, events, level = PG_TRIGGERS[name]
    on = f"{schema}.{table}" if schema else table
    return f"CREATE TRIGGER {name} BEFORE {events} ON {on} {level} EXECUTE FUNCTION {PG_FUNCTION}()"


PG_GUARDS = [
    f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{GUARD_MESSAGE}'; END $$ LANGUAGE plpgsql",
    *(pg_trigger_definition(name) for name in PG_TRIGGERS),
]


def guard_statements(dialect: str) -> list[str]:
    """The DDL that makes the audit table append-only on ``dialect`` (run once, when the
    database is created; never again, so that a dropped guard stays visible)."""
    if dialect == "sqlite":
        return list(SQLITE_GUARDS.values())
    if dialect == "postgresql":
        return list(PG_GUARDS)
    return []
