"""The cases' schema brought up to date with the Alembic migrations shipped in the package,
run programmatically on the service's database (the audit database) under the audit write
lock, so that several workers starting at once migrate it once."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from flowrisk.audit.engine import write_transaction
from flowrisk.cases.tables import VERSION_TABLE

__all__ = ["MIGRATIONS", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package ships at least one revision
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Apply the pending migrations in one transaction under the audit write lock."""
    if current_revision(engine) == head_revision() and revision == "head":
        return
    config = _config()
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
