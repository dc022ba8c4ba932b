"""The cases' tables, as the migrations create them, and the guards that keep the timeline of
a case append-only (triggers, as for the audit trail).

``cases`` holds one row per case, its current state (status, assignee, disposition) kept up to
date; ``case_events`` holds what happened to it, in order, and is never updated or deleted:
the current state can always be told from the timeline."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "EVENTS_GUARD_MESSAGE",
    "VERSION_TABLE",
    "case_events",
    "cases",
    "events_guard_statements",
    "metadata",
]

VERSION_TABLE = "flowrisk_cases_version"  # Alembic's, apart from any other migrated schema
EVENTS_GUARD_MESSAGE = "the events of a case are append-only"
metadata = sa.MetaData()
_WHEN = sa.DateTime(timezone=True)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.String(20), primary_key=True),  # C-2026-0001: year and number
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False, index=True),
    sa.Column("opened_by", sa.String(64), nullable=False),
    sa.Column("opened_at", _WHEN, nullable=False),
    sa.Column("assignee", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("disposition", sa.String(16), nullable=True),
    sa.Column("reason_code", sa.String(32), nullable=True),
    sa.Column("decided_at", _WHEN, nullable=True),
    sa.Column("alert_run", sa.String(200), nullable=True),
    sa.Column("alert_score", sa.Float(precision=53), nullable=True),
    sa.Column("alert_band", sa.String(16), nullable=True),
    sa.UniqueConstraint("year", "number", name="cases_year_number"),
)
case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(20), sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", _WHEN, nullable=False),
    sa.Column("text", sa.Text, nullable=False, default=""),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=True),
    sa.Column("assignee", sa.String(64), nullable=True),
    sa.Column("reason_code", sa.String(32), nullable=True),
)

_RAISE = f"SELECT RAISE(ABORT, '{EVENTS_GUARD_MESSAGE}');"
SQLITE_GUARDS = [
    f"CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events BEGIN {_RAISE} END",
    f"CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events BEGIN {_RAISE} END",
    # INSERT OR REPLACE deletes without firing the delete trigger
    "CREATE TRIGGER case_events_no_replace BEFORE INSERT ON case_events "
    "WHEN EXISTS (SELECT 1 FROM case_events WHERE id = NEW.id) "
    f"BEGIN {_RAISE} END",
]
PG_FUNCTION = "flowrisk_case_events_append_only"
PG_GUARDS = [
    f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{EVENTS_GUARD_MESSAGE}'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON case_events "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
]


def events_guard_statements(dialect: str) -> list[str]:
    """The DDL that makes ``case_events`` append-only on ``dialect``."""
    if dialect == "sqlite":
        return list(SQLITE_GUARDS)
    if dialect == "postgresql":
        return list(PG_GUARDS)
    return []
