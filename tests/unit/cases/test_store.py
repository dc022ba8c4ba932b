"""Cases on a real SQLite database: the lifecycle through the store, ids, filters, the
append-only timeline, one audit row per change committed with it, and the migrations."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flowrisk.audit import Store
from flowrisk.cases import Actor, Alert, CaseStore
from flowrisk.cases.migrate import current_revision, head_revision
from flowrisk.cases.tables import VERSION_TABLE
from flowrisk.errors import AuditUnavailable, InvalidParameter
from tests.unit.cases.conftest import ANALYST, Clock


def _rows(store: CaseStore) -> list[dict[str, object]]:
    return list(store.audit.audit_rows())


def test_a_case_from_alert_to_dismissal(cases: CaseStore, clock: Clock) -> None:
    opened = cases.open("E000042", ANALYST, alert=Alert("run-2026-03", 97.5, "critical"))
    assert opened.id == "C-2026-0001" and opened.status == "open"
    assert opened.alert == Alert("run-2026-03", 97.5, "critical")
    clock.move(minutes=5)
    cases.assign(opened.id, "alice", ANALYST)
    cases.set_status(opened.id, "in_review", ANALYST, note="looking at the cash")
    cases.note(opened.id, "the shop's revenue matches its invoices", ANALYST)
    clock.move(days=2)
    closed = cases.dispose(opened.id, "explained_by_documents", ANALYST, note="invoices seen")
    assert (closed.status, closed.disposition, closed.reason_code) == (
        "dismissed",
        "dismissed",
        "explained_by_documents",
    )
    assert closed.decided_at == clock.at and closed.assignee == "alice"
    timeline = cases.get(opened.id).events
    assert [e.kind for e in timeline] == ["opened", "assignment", "status", "note", "disposition"]
    assert timeline[2].from_status == "open" and timeline[2].to_status == "in_review"
    assert timeline[-1].reason_code == "explained_by_documents"
    assert all(e.at.tzinfo is not None and e.actor == "0a1b2c3d" for e in timeline)
    assert timeline[-1].at == clock.at


def test_every_change_leaves_one_audit_row_naming_the_case(cases: CaseStore) -> None:
    case = cases.open("E000007", ANALYST)
    cases.assign(case.id, "bob", ANALYST)
    cases.set_status(case.id, "escalated", ANALYST)
    cases.note(case.id, "sent to the supervisor", ANALYST)
    cases.dispose(case.id, "confirmed_suspicious", ANALYST)
    rows = _rows(cases)
    actions = ["open", "assign", "status", "note", "dispose"]
    assert [r["route"] for r in rows] == [f"/ui/cases {case.id} {a}" for a in actions]
    assert {r["purpose"] for r in rows} == {case.id}
    assert {r["entity_id"] for r in rows} == {"E000007"}
    assert {(r["key_id"], r["role"], r["actor"], r["method"]) for r in rows} == {
        ("0a1b2c3d", "analyst", "0a1b2c3d", "POST")
    }
    assert len({r["request_hash"] for r in rows}) == len(rows)  # each change hashed apart
    assert cases.audit.check_chain().rows == len(rows)


def test_refused_changes_leave_neither_change_nor_audit_row(cases: CaseStore) -> None:
    case = cases.open("E000001", ANALYST)
    with pytest.raises(InvalidParameter, match="already has open case C-2026-0001"):
        cases.open("E000001", ANALYST)
    with pytest.raises(InvalidParameter, match="dispose of case C-2026-0001 with a reason"):
        cases.set_status(case.id, "dismissed", ANALYST)
    with pytest.raises(InvalidParameter, match="cannot go from open to open"):
        cases.set_status(case.id, "open", ANALYST)
    with pytest.raises(InvalidParameter, match="reason_code: must be one of"):
        cases.dispose(case.id, "tired", ANALYST)
    with pytest.raises(InvalidParameter, match="text: must not be empty"):
        cases.note(case.id, "  ", ANALYST)
    with pytest.raises(InvalidParameter, match="case_id: no case 'C-2026-0099'"):
        cases.note("C-2026-0099", "hello", ANALYST)
    cases.dispose(case.id, "false_positive", ANALYST)
    for change in (
        lambda: cases.assign(case.id, "carol", ANALYST),
        lambda: cases.set_status(case.id, "in_review", ANALYST),
        lambda: cases.dispose(case.id, "duplicate", ANALYST),
    ):
        with pytest.raises(InvalidParameter, match="closed"):
            change()
    assert [e.kind for e in cases.get(case.id).events] == ["opened", "disposition"]
    assert len(_rows(cases)) == 2


def test_a_change_whose_audit_row_cannot_commit_is_not_made(cases: CaseStore, url: str) -> None:
    case = cases.open("E000003", ANALYST)
    with cases.engine.begin() as conn:  # the trail refuses every new row from now on
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'full'); END"
        )
    with pytest.raises(AuditUnavailable, match="full"):
        cases.dispose(case.id, "false_positive", ANALYST)
    with pytest.raises(AuditUnavailable):
        cases.open("E000004", ANALYST)
    kept = cases.get(case.id)
    assert kept.status == "open" and [e.kind for e in kept.events] == ["opened"]
    assert [c.entity_id for c in cases.list_cases()] == ["E000003"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE case_events SET text = 'nothing seen'",
        "DELETE FROM case_events",
        "INSERT OR REPLACE INTO case_events (id, case_id, kind, actor, at, text) "
        "SELECT id, case_id, kind, actor, at, 'rewritten' FROM case_events",
    ],
)
def test_the_timeline_is_append_only(cases: CaseStore, statement: str) -> None:
    case = cases.open("E000005", ANALYST, note="first look")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), cases.engine.begin() as c:
        c.exec_driver_sql(statement)
    assert cases.get(case.id).events[0].text == "first look"


def test_ids_count_per_year_filters_and_reads(cases: CaseStore, clock: Clock) -> None:
    first = cases.open("E1", ANALYST)
    second = cases.open("E2", ANALYST)
    cases.dispose(first.id, "confirmed_suspicious", ANALYST)
    again = cases.open("E1", ANALYST)  # a closed case does not block a new one
    clock.move(days=365)
    next_year = cases.open("E3", ANALYST)
    assert [first.id, second.id, again.id, next_year.id] == [
        "C-2026-0001",
        "C-2026-0002",
        "C-2026-0003",
        "C-2027-0001",
    ]
    cases.assign(second.id, "alice", ANALYST)
    cases.dispose(second.id, "false_positive", ANALYST)
    assert [c.id for c in cases.list_cases()] == [
        "C-2027-0001",
        "C-2026-0003",
        "C-2026-0002",
        "C-2026-0001",
    ]
    assert [c.id for c in cases.list_cases(status="open")] == ["C-2027-0001", "C-2026-0003"]
    assert [c.id for c in cases.list_cases(assignee="alice")] == ["C-2026-0002"]
    assert [c.id for c in cases.list_cases(entity_id="E1", limit=1, offset=1)] == ["C-2026-0001"]
    with pytest.raises(InvalidParameter, match="status: must be one of"):
        cases.list_cases(status="closed")
    assert cases.statuses(["E1", "E2", "E3", "E9"]) == {
        "E1": "open",  # its latest case
        "E2": "dismissed",
        "E3": "open",
    }
    assert cases.dismissed_before(["E1", "E2", "E3"]) == {"E2"}
    assert [c.id for c in cases.decided()] == ["C-2026-0001", "C-2026-0002"]


def test_migrations_run_once_in_their_own_version_table(url: str, clock: Clock) -> None:
    Store(url).engine.dispose()  # an audit database from before the cases
    engine = sa.create_engine(url)
    assert "cases" not in sa.inspect(engine).get_table_names()
    store = CaseStore(url, now=clock)
    names = set(sa.inspect(engine).get_table_names())
    assert {"cases", "case_events", VERSION_TABLE, "audit"} <= names
    assert "alembic_version" not in names  # no clash with another migrated schema
    assert current_revision(store.engine) == head_revision() == "0001_cases"
    case = store.open("E1", ANALYST)
    reopened = CaseStore(url, now=clock)  # a second start migrates nothing
    assert reopened.get(case.id).entity_id == "E1"
    with engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {VERSION_TABLE}").scalar() == 1
    assert reopened.audit.check_chain().rows == 1
    engine.dispose()


def test_the_command_line_actor_is_recorded_as_such(cases: CaseStore) -> None:
    case = cases.open("E8", Actor(name="cli:ana"))
    row = _rows(cases)[0]
    assert (row["actor"], row["key_id"], row["method"], row["status"]) == (
        "cli:ana",
        None,
        "CLI",
        0,
    )
    assert row["route"] == f"flowrisk cases {case.id} open"
    assert cases.get(case.id).opened_by == "cli:ana"
