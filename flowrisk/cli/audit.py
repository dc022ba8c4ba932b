"""Commands of the service's operator on its database: ``keys create|revoke`` (each leaves an
audit row) and ``audit init|verify|export`` (verify and export only read)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated, Literal

import typer

from flowrisk.cli._app import app, console, err_console, exits, parse_as_of
from flowrisk.cli.service import PANEL
from flowrisk.config import get_settings
from flowrisk.errors import InvalidParameter
from flowrisk.schema import KEY_ROLES

__all__ = [
    "audit_app",
    "audit_export",
    "audit_init",
    "audit_verify",
    "cli_actor",
    "keys_app",
    "keys_create",
    "keys_revoke",
]

keys_app = typer.Typer(help="API keys of the scoring service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys", rich_help_panel=PANEL)
audit_app = typer.Typer(help="The audit trail of the scoring service.", no_args_is_help=True)
app.add_typer(audit_app, name="audit", rich_help_panel=PANEL)


def cli_actor() -> str:
    """Who runs this command, for the audit trail: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return f"cli:uid-{os.getuid()}"


@keys_app.command("create")
@exits
def keys_create(
    role: Annotated[
        str,
        typer.Option(
            help=f"One of {', '.join(KEY_ROLES)}: analyst scores and uses the console, "
            "supervisor also reads the audit pages, admin also reloads."
        ),
    ],
    label: Annotated[str, typer.Option(help="Whose key it is, for the record.")] = "",
) -> None:
    """Create an API key and print it once (only its hash is stored; the creation is
    audited)."""
    from flowrisk.audit import Store

    if role not in KEY_ROLES:  # before the audit database is opened or created
        raise InvalidParameter("--role", f"must be one of {', '.join(KEY_ROLES)}, got {role!r}")
    settings = get_settings()
    store = Store(settings.audit_url, settings.audit_timeout_seconds)
    key_id, key = store.create_key(role, label, actor=cli_actor())
    err_console.print(f"key {key_id} ({role}); store it now, it is not shown again:")
    console.print(key, highlight=False)


@keys_app.command("revoke")
@exits
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke an API key: later requests with it get 401 (the revocation is audited)."""
    from flowrisk.audit import Store

    settings = get_settings()
    store = Store(settings.audit_url, settings.audit_timeout_seconds)
    if not store.revoke_key(key_id, actor=cli_actor()):
        raise InvalidParameter("key_id", f"no active key {key_id!r}")
    console.print(f"key {key_id} revoked", highlight=False)


@audit_app.command("init")
@exits
def audit_init() -> None:
    """Create the audit database's tables and append-only guards, the console's sessions
    table, and apply the cases' migrations (on PostgreSQL, run it as the owning role, then
    scripts/postgres-audit-role.sql; see docs/audit.md)."""
    from flowrisk.api.console.sessions import SessionStore
    from flowrisk.cases import CaseStore

    settings = get_settings()
    store = CaseStore(settings.audit_url, settings.audit_timeout_seconds).audit
    SessionStore(store, settings.console_session_minutes).create_table()
    report = store.check_chain()
    console.print(
        f"audit database {store.safe_url} ready: {report.rows:,} rows, head {report.head_hash}",
        highlight=False,
        soft_wrap=True,
    )


@audit_app.command("verify")
@exits
def audit_verify(
    head: Annotated[
        str | None,
        typer.Option(help="A head hash recorded earlier: fail unless the chain still holds it."),
    ] = None,
) -> None:
    """Walk the audit trail's hash chain: exit 0 with the head hash when intact, exit 1 naming
    the first row rewritten, missing or out of chain (the database is only read)."""
    from flowrisk.audit import Store

    settings = get_settings()
    store = Store(settings.audit_url, settings.audit_timeout_seconds, read_only=True)
    report = store.check_chain(head.strip().lower() if head else None)
    where = f"head row {report.head_id}" if report.head_id is not None else "no rows yet, genesis"
    console.print(
        f"audit chain intact: {report.rows:,} rows checked, {where} hash {report.head_hash}",
        highlight=False,
        soft_wrap=True,
    )


@audit_app.command("export")
@exits
def audit_export(
    out: Annotated[Path, typer.Option(help="File to write.")] = Path("audit.csv"),
    fmt: Annotated[Literal["csv", "jsonl"], typer.Option("--format", help="csv or jsonl.")] = "csv",
    since: Annotated[str | None, typer.Option(help="Only rows from this date or time.")] = None,
) -> None:
    """Write the audit trail (who looked up whom, when, why, with which result, with key
    labels and the chain's hashes) to a file, atomically; the database is only read."""
    from flowrisk.audit import Store

    start = parse_as_of(since, "--since") if since else None
    settings = get_settings()
    store = Store(settings.audit_url, settings.audit_timeout_seconds, read_only=True)
    count = store.export(out, fmt, start)
    console.print(f"{count:,} audit rows from {store.safe_url} -> {out}", highlight=False)
