"""The audit trail as a file for an investigator or an auditor: CSV (cells neutralised against
formula injection) or JSON Lines, times with their zone, the label of each key, the chain's
hashes; written beside the target and renamed into place, so a failed export never leaves a
half-written file."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import sqlalchemy as sa

from flowrisk.audit.chain import utc
from flowrisk.audit.tables import AUDIT_COLUMNS, api_keys, audit
from flowrisk.io import replace_file_atomically

__all__ = ["EXPORT_COLUMNS", "neutralise", "write_export"]

EXPORT_COLUMNS = [*AUDIT_COLUMNS[:3], "key_label", *AUDIT_COLUMNS[3:]]
# what makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a leading ``'`` before a formula start."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _rows(engine: sa.Engine, since: datetime | None) -> Iterator[dict[str, Any]]:
    query = (
        sa.select(*audit.columns, api_keys.c.label.label("key_label"))
        .select_from(audit.outerjoin(api_keys, audit.c.key_id == api_keys.c.key_id))
        .order_by(audit.c.id)
        .execution_options(yield_per=10_000)
    )
    if since is not None:
        query = query.where(audit.c.at >= since)
    with engine.connect() as conn:
        for row in conn.execute(query):
            out = dict(row._mapping)
            out["at"] = utc(out["at"]).isoformat(timespec="microseconds")
            yield {name: out[name] for name in EXPORT_COLUMNS}


def _write(out: IO[str], rows: Iterator[dict[str, Any]], fmt: Literal["csv", "jsonl"]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, EXPORT_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: neutralise(v) for k, v in row.items()})
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row) + "\n")
            count += 1
    return count


def write_export(
    engine: sa.Engine, path: Path, fmt: Literal["csv", "jsonl"], since: datetime | None
) -> int:
    """Write the trail (from ``since``) to ``path`` in ``fmt``; returns the number of rows.
    Reads only: the database is never written."""
    with (
        replace_file_atomically(path) as staged,
        staged.open("w", encoding="utf-8", newline="") as out,
    ):
        count = _write(out, _rows(engine, since), fmt)
        out.flush()
        os.fsync(out.fileno())  # on disk before the rename makes it the export
    return count
