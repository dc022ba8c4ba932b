"""The cases and their append-only events.

Revision ID: 0001_cases
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flowrisk.cases.tables import events_guard_statements

revision = "0001_cases"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``cases`` and ``case_events`` and the guards of the events."""
    op.create_table(
        "cases",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
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
    op.create_index("ix_cases_entity_id", "cases", ["entity_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(20), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("reason_code", sa.String(32), nullable=True),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    for statement in events_guard_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    """Drop both tables (the events' guards go with their table)."""
    op.drop_table("case_events")
    op.drop_table("cases")
