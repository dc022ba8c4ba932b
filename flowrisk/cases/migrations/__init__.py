"""The Alembic migrations of the cases' tables, shipped with the package (run by
:func:`flowrisk.cases.migrate.upgrade`)."""
