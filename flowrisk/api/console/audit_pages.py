"""The supervisors' view of the audit trail (``/ui/audit``): the latest rows, newest first,
optionally of one entity or one key; the view itself is audited."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from flowrisk.api.console.auth import ConsoleRefused, Supervisor, audit_view
from flowrisk.api.console.pages import render
from flowrisk.audit import Store
from flowrisk.audit.tables import audit

__all__ = ["AUDIT_PAGE_ROWS", "latest_rows", "router"]

router = APIRouter(tags=["console"], include_in_schema=False)
AUDIT_PAGE_ROWS = 200


def latest_rows(
    store: Store, entity_id: str = "", key_id: str = "", limit: int = AUDIT_PAGE_ROWS
) -> list[dict[str, Any]]:
    """The last ``limit`` audit rows, newest first, of ``entity_id`` and ``key_id`` when given."""
    query = sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
    if entity_id:
        query = query.where(audit.c.entity_id == entity_id)
    if key_id:
        query = query.where(audit.c.key_id == key_id)
    try:
        with store.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
    except sa.exc.SQLAlchemyError as exc:
        raise ConsoleRefused(503, "Audit store unavailable", str(exc).splitlines()[0]) from None


Text = Annotated[str, Query(max_length=64)]


@router.get("/ui/audit")
def audit_page(request: Request, user: Supervisor, entity: Text = "", key: Text = "") -> Response:
    """The latest audit rows (supervisor and admin only)."""
    audit_view(request, user, entity_id=entity or None)
    rows = latest_rows(request.app.state.config.store, entity.strip(), key.strip())
    return render(request, "audit.html", {"rows": rows, "entity": entity, "key": key})
