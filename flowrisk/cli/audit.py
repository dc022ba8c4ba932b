"""Commands of the service's operator on its database: ``keys create|revoke`` and
``audit export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from flowrisk.cli._app import app, console, err_console, exits, parse_as_of
from flowrisk.cli.service import PANEL
from flowrisk.config import get_settings
from flowrisk.errors import InvalidParameter
from flowrisk.schema import KEY_ROLES

__all__ = ["audit_app", "audit_export", "keys_app", "keys_create", "keys_revoke"]

keys_app = typer.Typer(help="API keys of the scoring service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys", rich_help_panel=PANEL)
audit_app = typer.Typer(help="The audit trail of the scoring service.", no_args_is_help=True)
app.add_typer(audit_app, name="audit", rich_help_panel=PANEL)


@keys_app.command("create")
@exits
def keys_create(
    role: Annotated[
        str,
        typer.Option(help=f"One of {', '.join(KEY_ROLES)}: analyst scores, admin also reloads."),
    ],
    label: Annotated[str, typer.Option(help="Whose key it is, for the record.")] = "",
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from flowrisk.audit import Store

    if role not in KEY_ROLES:  # before the audit database is opened or created
        raise InvalidParameter("--role", f"must be one of {', '.join(KEY_ROLES)}, got {role!r}")
    key_id, key = Store(get_settings().audit_url).create_key(role, label)
    err_console.print(f"key {key_id} ({role}); store it now, it is not shown again:")
    console.print(key, highlight=False)


@keys_app.command("revoke")
@exits
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id to revoke.")]) -> None:
    """Revoke an API key: later requests with it get 401."""
    from flowrisk.audit import Store

    if not Store(get_settings().audit_url).revoke_key(key_id):
        raise InvalidParameter("key_id", f"no active key {key_id!r}")
    console.print(f"key {key_id} revoked", highlight=False)


@audit_app.command("export")
@exits
def audit_export(
    out: Annotated[Path, typer.Option(help="File to write.")] = Path("audit.csv"),
    fmt: Annotated[Literal["csv", "jsonl"], typer.Option("--format", help="csv or jsonl.")] = "csv",
    since: Annotated[str | None, typer.Option(help="Only rows from this date or time.")] = None,
) -> None:
    """Write the audit trail (who looked up whom, when, why, with which result) to a file."""
    from flowrisk.audit import Store

    start = parse_as_of(since, "--since") if since else None
    store = Store(get_settings().audit_url)
    try:
        count = store.export(out, fmt, start)
    except OSError as exc:
        raise InvalidParameter("--out", f"cannot write {out}: {exc.strerror}") from None
    console.print(f"{count:,} audit rows from {store.safe_url} -> {out}", highlight=False)
