"""The audit trail's hash chain: what a row's hash covers, how text is made storable, and the
walk that finds the first row rewritten, missing or out of chain.

Each row's ``row_hash`` is the SHA-256 of a canonical JSON (sorted keys, no spaces, ASCII) of
its id, time (ISO 8601 in UTC with its zone), key, role, actor, method, route, status, entity,
purpose, model version, score, band, request hash, request id and ``prev_hash``, the hash of
the row before it (``GENESIS`` for the first). Rewriting a row changes its hash; recomputing
that hash breaks the next row's link; rewriting the whole chain changes the head hash an
operator recorded elsewhere."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowrisk.audit.tables import TEXT_SIZES
from flowrisk.errors import AuditChainBroken, InvalidParameter

__all__ = [
    "GENESIS",
    "HASHED",
    "ChainReport",
    "ChainWalk",
    "clean_row",
    "clean_text",
    "row_hash",
    "seal_row",
    "utc",
]

GENESIS = "0" * 64  # the prev_hash of the first row
HASHED = (
    "id",
    "at",
    "key_id",
    "role",
    "actor",
    "method",
    "route",
    "status",
    "entity_id",
    "purpose",
    "model_version",
    "score",
    "band",
    "request_hash",
    "request_id",
    "prev_hash",
)
REQUIRED = ("at", "method", "route", "status")
# control characters (C0, DEL, C1) and lone surrogates: PostgreSQL refuses NUL and surrogates,
# and neither belongs in a record meant to be read by people
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_text(value: object, size: int) -> str | None:
    """``value`` as storable text: control characters escaped (NUL becomes ``\\x00``), cut to
    ``size`` characters; None stays None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(_escape, text)
    return text[:size]


def utc(at: datetime) -> datetime:
    """``at`` as an aware UTC datetime (a naive value, as SQLite returns them, is UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def row_hash(row: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of the canonical JSON of ``row``'s hashed fields."""
    doc = {name: row[name] for name in HASHED}
    doc["at"] = utc(row["at"]).isoformat(timespec="microseconds")
    return hashlib.sha256(_CANONICAL.encode(doc).encode()).hexdigest()


def clean_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of ``row`` before it is chained: text made safe and cut to its column,
    time in UTC, numbers as numbers (raises ``InvalidParameter`` for a row no one can store)."""
    missing = [name for name in REQUIRED if row.get(name) is None]
    if missing:
        raise InvalidParameter(missing[0], "an audit row needs at, method, route and status")
    at = row["at"]
    if not isinstance(at, datetime):
        raise InvalidParameter("at", f"must be a datetime, got {type(at).__name__}")
    score = row.get("score")
    out: dict[str, Any] = {
        name: clean_text(row.get(name), size) for name, size in TEXT_SIZES.items()
    }
    out.update(at=utc(at), status=int(row["status"]), score=None if score is None else float(score))
    return out


def seal_row(clean: Mapping[str, Any], row_id: int, prev_hash: str) -> dict[str, Any]:
    """A cleaned row with its id, the hash it chains to, and its own hash."""
    out = {**clean, "id": row_id, "prev_hash": prev_hash}
    out["row_hash"] = row_hash(out)
    return out


@dataclass(frozen=True)
class ChainReport:
    """An intact chain: how many rows, and the last row's id and hash (record the hash
    elsewhere: ``flowrisk audit verify --head`` then proves nothing before it was rewritten)."""

    rows: int
    head_id: int | None
    head_hash: str


def _missing(first: int, last: int) -> str:
    return (
        f"audit row {first} is missing"
        if first == last
        else f"audit rows {first}-{last} are missing"
    )


class ChainWalk:
    """Walks rows in id order (one at a time: constant memory) and raises
    ``AuditChainBroken`` at the first row missing, rewritten or out of chain."""

    def __init__(self, head: str | None = None) -> None:
        self.head = head
        self.head_seen = head is None
        self.rows = 0
        self.last_id: int | None = None
        self.last_hash = GENESIS

    def feed(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Check ``rows`` (the next ones in id order)."""
        for row in rows:
            self._check(row)

    def _check(self, row: Mapping[str, Any]) -> None:
        row_id = int(row["id"])
        expected = 1 if self.last_id is None else self.last_id + 1
        if row_id != expected:
            after = (
                f"row {row_id} follows row {self.last_id}"
                if self.last_id
                else (f"the trail starts at row {row_id}")
            )
            raise AuditChainBroken(expected, f"{_missing(expected, row_id - 1)} ({after})")
        if row_hash(row) != row["row_hash"]:
            raise AuditChainBroken(
                row_id, f"audit row {row_id} was rewritten: its content does not match its hash"
            )
        if row["prev_hash"] != self.last_hash:
            if self.last_id is None:
                raise AuditChainBroken(
                    row_id, f"audit row {row_id} is out of chain: it does not start from genesis"
                )
            raise AuditChainBroken(
                self.last_id,
                f"audit row {row_id} does not chain to row {self.last_id}: row {self.last_id} "
                f"was rewritten (its hash recomputed) or row {row_id} is out of chain",
            )
        self.rows += 1
        self.last_id, self.last_hash = row_id, str(row["row_hash"])
        if not self.head_seen and self.last_hash == self.head:
            self.head_seen = True

    def finish(self, high_water: int | None) -> ChainReport:
        """The report, once every row was fed; ``high_water`` is the highest id ever handed
        out (SQLite's sqlite_sequence, PostgreSQL's audit_high_water): above the last row,
        the tail was deleted."""
        last = self.last_id or 0
        if (high_water or 0) > last:
            raise AuditChainBroken(
                last + 1,
                f"{_missing(last + 1, int(high_water or 0))} after "
                + (f"row {last}" if last else "the start")
                + " (the tail of the trail was deleted)",
            )
        if last and (high_water or 0) < last:
            raise AuditChainBroken(
                None,
                f"the id high-water mark ({'none' if high_water is None else high_water}) is "
                f"below the last row {last}: it was reset or removed outside flowrisk",
            )
        if not self.head_seen:
            raise AuditChainBroken(
                None,
                f"the recorded head {self.head} is not in the chain: the trail was rewritten "
                "or cut before it",
            )
        return ChainReport(self.rows, self.last_id, self.last_hash)
