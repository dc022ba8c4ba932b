"""The cases of the service's database: open, assign, move, annotate and dispose of a case,
each change written with its event and its audit row in one transaction (nothing changes
unless its audit row commits), and the reads the console, the queue and training need.

The database is the audit database (``Settings.audit_url``): opening a :class:`CaseStore`
creates the audit tables when new and applies the cases' migrations."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from flowrisk.audit import Store
from flowrisk.audit.chain import utc
from flowrisk.cases.lifecycle import (
    OPEN_STATUSES,
    STATUSES,
    check_dispose,
    check_transition,
    reason_for,
)
from flowrisk.cases.migrate import upgrade
from flowrisk.cases.tables import case_events, cases
from flowrisk.errors import ConfigError, InvalidParameter

__all__ = ["Actor", "Alert", "Case", "CaseEvent", "CaseStore"]

NOTE_MAX = 10_000  # characters of one note


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and through which face: ``method`` is ``CLI`` or the HTTP method,
    ``origin`` what the audit row's route starts with (``flowrisk cases`` or ``/ui/cases``)."""

    name: str  # the key id, or cli:<os user>
    key_id: str | None = None
    role: str | None = None
    method: str = "CLI"
    origin: str = "flowrisk cases"


@dataclass(frozen=True)
class Alert:
    """The alert a case is opened from: the batch run, the score and the band it gave."""

    run: str
    score: float | None = None
    band: str | None = None


@dataclass(frozen=True)
class CaseEvent:
    """One entry of a case's timeline."""

    kind: str
    actor: str
    at: datetime
    text: str
    from_status: str | None = None
    to_status: str | None = None
    assignee: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True)
class Case:
    """A case's current state (and, from :meth:`CaseStore.get`, its timeline)."""

    id: str
    entity_id: str
    opened_by: str
    opened_at: datetime
    status: str
    assignee: str | None = None
    disposition: str | None = None
    reason_code: str | None = None
    decided_at: datetime | None = None
    alert: Alert | None = None
    events: tuple[CaseEvent, ...] = field(default=())


def _case(row: sa.RowMapping, events: tuple[CaseEvent, ...] = ()) -> Case:
    alert = None
    if row["alert_run"] is not None:
        alert = Alert(row["alert_run"], row["alert_score"], row["alert_band"])
    decided = row["decided_at"]
    return Case(
        id=row["id"],
        entity_id=row["entity_id"],
        opened_by=row["opened_by"],
        opened_at=utc(row["opened_at"]),
        status=row["status"],
        assignee=row["assignee"],
        disposition=row["disposition"],
        reason_code=row["reason_code"],
        decided_at=utc(decided) if decided is not None else None,
        alert=alert,
        events=events,
    )


def _event(row: sa.RowMapping) -> CaseEvent:
    keys = ("kind", "actor", "text", "from_status", "to_status", "assignee", "reason_code")
    return CaseEvent(at=utc(row["at"]), **{k: row[k] for k in keys})


def _text(value: str, name: str, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidParameter(name, "must not be empty")
    if len(text) > NOTE_MAX:
        raise InvalidParameter(name, f"must be at most {NOTE_MAX} characters, got {len(text)}")
    return text


def _name(value: str, name: str) -> str:
    text = value.strip()
    if not text or len(text) > 64:
        raise InvalidParameter(name, f"must be 1 to 64 characters, got {len(text)}")
    return text


class CaseStore:
    """Cases in the service's database at ``url``; ``now`` is the clock (injectable so that
    decisions can be dated inside a synthetic world's time span)."""

    def __init__(
        self, url: str, timeout: float = 2.0, now: Callable[[], datetime] | None = None
    ) -> None:
        self.audit = Store(url, timeout)
        self.engine = self.audit.engine
        self.now = now or (lambda: datetime.now(UTC))
        try:
            upgrade(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(
                f"cases database {self.audit.safe_url}: cannot apply the cases' migrations "
                f"({first}); on PostgreSQL the owner applies them with `flowrisk audit init`"
            ) from exc

    def _change(
        self,
        actor: Actor,
        case_id: str | None,
        action: str,
        work: Callable[[sa.Connection, datetime], tuple[Case, dict[str, Any]]],
    ) -> Case:
        """Run ``work`` (which returns the case and what the change was) with its audit row:
        route ``<origin> <case> <action>``, the case id as purpose, the change hashed."""

        def run(conn: sa.Connection) -> tuple[Case, list[dict[str, Any]]]:
            at = self.now()
            case, detail = work(conn, at)
            request = {"case": case.id, "action": action, **detail}
            digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
            row = {
                "at": at,
                "key_id": actor.key_id,
                "role": actor.role,
                "actor": actor.name,
                "method": actor.method,
                "route": f"{actor.origin} {case_id or case.id} {action}",
                "status": 0 if actor.method == "CLI" else 200,
                "entity_id": case.entity_id,
                "purpose": case.id,
                "request_hash": digest,
                "request_id": uuid.uuid4().hex,
            }
            return case, [row]

        return self.audit.append_with(run)

    def _load(self, conn: sa.Connection, case_id: str) -> Case:
        row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).mappings().first()
        if row is None:
            raise InvalidParameter("case_id", f"no case {case_id!r}")
        return _case(row)

    def _log(
        self, conn: sa.Connection, case_id: str, actor: Actor, at: datetime, **values: Any
    ) -> None:
        conn.execute(
            case_events.insert().values(
                case_id=case_id, actor=actor.name, at=at, text=values.pop("text", ""), **values
            )
        )

    def open(
        self, entity_id: str, actor: Actor, *, alert: Alert | None = None, note: str = ""
    ) -> Case:
        """Open a case on ``entity_id`` (from an alert when given); refused while the entity
        has a case still open."""
        entity_id, note = _name(entity_id, "entity_id"), _text(note, "note")

        def work(conn: sa.Connection, at: datetime) -> tuple[Case, dict[str, Any]]:
            busy = conn.execute(
                sa.select(cases.c.id).where(
                    cases.c.entity_id == entity_id, cases.c.status.in_(OPEN_STATUSES)
                )
            ).scalar()
            if busy is not None:
                raise InvalidParameter("entity_id", f"{entity_id} already has open case {busy}")
            number = 1 + int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(cases.c.number), 0)).where(
                        cases.c.year == at.year
                    )
                ).scalar_one()
            )
            case_id = f"C-{at.year}-{number:04d}"
            conn.execute(
                cases.insert().values(
                    id=case_id,
                    year=at.year,
                    number=number,
                    entity_id=entity_id,
                    opened_by=actor.name,
                    opened_at=at,
                    status="open",
                    alert_run=alert.run if alert else None,
                    alert_score=alert.score if alert else None,
                    alert_band=alert.band if alert else None,
                )
            )
            self._log(conn, case_id, actor, at, kind="opened", to_status="open", text=note)
            return self._load(conn, case_id), {"entity_id": entity_id, "alert": str(alert)}

        return self._change(actor, None, "open", work)

    def assign(self, case_id: str, assignee: str, actor: Actor) -> Case:
        """Give an open case to ``assignee``."""
        assignee = _name(assignee, "assignee")

        def work(conn: sa.Connection, at: datetime) -> tuple[Case, dict[str, Any]]:
            case = self._load(conn, case_id)
            check_dispose(case.id, case.status)
            conn.execute(cases.update().where(cases.c.id == case_id).values(assignee=assignee))
            self._log(conn, case_id, actor, at, kind="assignment", assignee=assignee)
            return self._load(conn, case_id), {"assignee": assignee}

        return self._change(actor, case_id, "assign", work)

    def set_status(self, case_id: str, status: str, actor: Actor, note: str = "") -> Case:
        """Move a case along the lifecycle (:data:`~flowrisk.cases.lifecycle.TRANSITIONS`)."""
        note = _text(note, "note")

        def work(conn: sa.Connection, at: datetime) -> tuple[Case, dict[str, Any]]:
            case = self._load(conn, case_id)
            check_transition(case.id, case.status, status)
            conn.execute(cases.update().where(cases.c.id == case_id).values(status=status))
            self._log(
                conn,
                case_id,
                actor,
                at,
                kind="status",
                from_status=case.status,
                to_status=status,
                text=note,
            )
            return self._load(conn, case_id), {"from": case.status, "to": status}

        return self._change(actor, case_id, "status", work)

    def note(self, case_id: str, text: str, actor: Actor) -> Case:
        """Append a note to a case's timeline (notes are never edited or removed)."""
        text = _text(text, "text", required=True)

        def work(conn: sa.Connection, at: datetime) -> tuple[Case, dict[str, Any]]:
            case = self._load(conn, case_id)
            self._log(conn, case_id, actor, at, kind="note", text=text)
            return case, {"note": text}

        return self._change(actor, case_id, "note", work)

    def dispose(self, case_id: str, reason_code: str, actor: Actor, note: str = "") -> Case:
        """Close a case with a reason code: the code decides whether it is reported or
        dismissed; the decision is dated now."""
        reason, note = reason_for(reason_code), _text(note, "note")

        def work(conn: sa.Connection, at: datetime) -> tuple[Case, dict[str, Any]]:
            case = self._load(conn, case_id)
            check_dispose(case.id, case.status)
            conn.execute(
                cases.update()
                .where(cases.c.id == case_id)
                .values(
                    status=reason.closes_as,
                    disposition=reason.closes_as,
                    reason_code=reason.code,
                    decided_at=at,
                )
            )
            self._log(
                conn,
                case_id,
                actor,
                at,
                kind="disposition",
                from_status=case.status,
                to_status=reason.closes_as,
                reason_code=reason.code,
                text=note,
            )
            return self._load(conn, case_id), {"reason_code": reason.code}

        return self._change(actor, case_id, "dispose", work)

    def get(self, case_id: str) -> Case:
        """A case with its timeline, oldest event first."""
        with self.audit.unavailable(), self.engine.connect() as conn:
            case = self._load(conn, case_id)
            rows = conn.execute(
                sa.select(case_events)
                .where(case_events.c.case_id == case_id)
                .order_by(case_events.c.id)
            ).mappings()
            events = tuple(_event(r) for r in rows)
        return replace(case, events=events)

    def list_cases(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        entity_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Case]:
        """Cases newest first, filtered by status, assignee and entity."""
        if status is not None and status not in STATUSES:
            raise InvalidParameter(
                "status", f"must be one of {', '.join(STATUSES)}, got {status!r}"
            )
        if limit < 1 or offset < 0:
            raise InvalidParameter("limit", "limit must be at least 1 and offset at least 0")
        query = sa.select(cases).order_by(cases.c.year.desc(), cases.c.number.desc())
        filters = (
            (cases.c.status, status),
            (cases.c.assignee, assignee),
            (cases.c.entity_id, entity_id),
        )
        for column, value in filters:
            if value is not None:
                query = query.where(column == value)
        with self.audit.unavailable(), self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_case(r) for r in rows]

    def statuses(self, entity_ids: Iterable[str] | None = None) -> dict[str, str]:
        """The status of each entity's latest case (all entities with one when ``entity_ids``
        is None; entities without a case are left out)."""
        query = sa.select(cases.c.entity_id, cases.c.status).order_by(cases.c.year, cases.c.number)
        return dict(self._per_entity(query, entity_ids))  # the latest case comes last, and wins

    def dismissed_before(self, entity_ids: Iterable[str] | None = None) -> set[str]:
        """The entities (among ``entity_ids``, or all) with a case dismissed before."""
        query = sa.select(cases.c.entity_id, cases.c.status).where(cases.c.status == "dismissed")
        return {entity for entity, _ in self._per_entity(query, entity_ids)}

    def _per_entity(
        self, query: sa.Select[Any], entity_ids: Iterable[str] | None
    ) -> list[tuple[str, str]]:
        """``query``'s rows, for ``entity_ids`` (in chunks of bound parameters) or all."""
        with self.audit.unavailable(), self.engine.connect() as conn:
            if entity_ids is None:
                return [(row[0], row[1]) for row in conn.execute(query)]
            wanted = list(dict.fromkeys(entity_ids))
            out: list[tuple[str, str]] = []
            for start in range(0, len(wanted), 500):
                part = query.where(cases.c.entity_id.in_(wanted[start : start + 500]))
                out.extend((row[0], row[1]) for row in conn.execute(part))
            return out

    def decided(self) -> list[Case]:
        """Every closed case, oldest decision first (what feedback reads)."""
        query = sa.select(cases).where(cases.c.decided_at.is_not(None))
        with self.audit.unavailable(), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(cases.c.decided_at, cases.c.id)).mappings().all()
        return [_case(r) for r in rows]
