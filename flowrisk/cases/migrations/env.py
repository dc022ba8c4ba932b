"""Alembic's environment for the cases' tables: always run programmatically on the connection
:func:`flowrisk.cases.migrate.upgrade` hands over (in its transaction, under its lock), with
its own version table."""

from __future__ import annotations

from alembic import context

from flowrisk.cases.tables import VERSION_TABLE, metadata


def run_on_connection() -> None:
    """Run the pending revisions on the caller's connection."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_on_connection()
