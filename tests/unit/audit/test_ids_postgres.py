"""Audit ids on a real PostgreSQL server: handed out from the transactional high-water table
``audit_high_water`` in the append's own transaction, so an append that fails after choosing
its ids leaves no gap (no false "missing rows"), while a deleted tail is still caught and no
id is ever handed out twice. Skipped, with the reason shown, where no server answers."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from flowrisk.audit import Store
from flowrisk.audit.chain import GENESIS, clean_row, seal_row
from flowrisk.audit.tables import audit
from flowrisk.errors import AuditChainBroken, AuditUnavailable, ConfigError
from tests.unit.audit.conftest import audit_row, fill


def _ids(store: Store) -> list[int]:
    return [int(r["id"]) for r in store.audit_rows()]


def _mark(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT id FROM audit_high_water").scalar_one())


def _broken(store: Store) -> AuditChainBroken:
    with pytest.raises(AuditChainBroken) as info:
        store.check_chain()
    return info.value


def test_a_new_database_starts_its_mark_at_zero(pg_url: str) -> None:
    store = Store(pg_url, timeout=1.0)
    assert _mark(store) == 0 and store.check_chain().rows == 0
    with store.engine.connect() as conn:  # no identity, no sequence: ids only from the mark
        column = sa.inspect(conn).get_columns("audit")[0]
        assert column["name"] == "id" and not column.get("identity") and not column["default"]
    fill(store, 5, batch=2)
    assert _ids(store) == [1, 2, 3, 4, 5] and _mark(store) == 5
    store.engine.dispose()


def test_an_append_failing_after_its_ids_were_chosen_leaves_no_gap(pg_url: str) -> None:
    store = Store(pg_url, timeout=1.0)
    fill(store, 3)
    # the second row's status does not fit its INTEGER column: the insert fails after the
    # mark was raised for ids 4 and 5, and the whole transaction rolls back
    with pytest.raises(AuditUnavailable, match="out of range"):
        store.append([audit_row(4), audit_row(5, status=2**40)])
    assert _mark(store) == 3
    assert store.check_chain().head_id == 3
    store.append([audit_row(4)])
    assert _ids(store) == [1, 2, 3, 4]
    assert store.check_chain().rows == 4
    store.engine.dispose()


def test_an_append_timing_out_at_its_insert_leaves_no_gap(pg_url: str) -> None:
    store = Store(pg_url, timeout=0.5)
    fill(store, 3)
    other = sa.create_engine(pg_url)
    with other.connect() as conn:
        # an uncommitted row holding id 4: the append's insert of id 4 waits for it, past
        # its lock timeout, after its ids were chosen (nextval would have burnt id 4)
        conn.execute(audit.insert().values(seal_row(clean_row(audit_row(99)), 4, GENESIS)))
        with pytest.raises(AuditUnavailable, match="timeout"):
            store.append([audit_row(4)])
        conn.rollback()
    other.dispose()
    assert _mark(store) == 3 and store.check_chain().rows == 3
    fill(store, 2)
    assert _ids(store) == [1, 2, 3, 4, 5] and store.check_chain().rows == 5
    store.engine.dispose()


def test_concurrent_appends_take_consecutive_ids(pg_url: str) -> None:
    stores = [Store(pg_url, timeout=5.0) for _ in range(2)]
    workers = [threading.Thread(target=fill, args=(s, 10, 2)) for s in stores]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert _ids(stores[0]) == list(range(1, 21)) and stores[0].check_chain().rows == 20
    for s in stores:
        s.engine.dispose()


def test_a_deleted_tail_is_caught_and_its_ids_never_reused(pg_url: str) -> None:
    store = Store(pg_url, timeout=1.0)
    fill(store, 6, batch=2)
    with store.engine.begin() as c:  # an owner bypassing the guard
        c.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
        c.exec_driver_sql("DELETE FROM audit WHERE id > 3")
        c.exec_driver_sql("ALTER TABLE audit ENABLE TRIGGER audit_append_only")
    error = _broken(store)
    assert error.row_id == 4 and "rows 4-6 are missing after row 3" in str(error)
    store.append([audit_row(7)])  # continues above the mark, not at 4
    assert _ids(store) == [1, 2, 3, 7]
    error = _broken(store)
    assert error.row_id == 4 and "row 7 follows row 3" in str(error)
    store.engine.dispose()


def test_the_mark_is_guarded_and_its_tampering_named(pg_url: str) -> None:
    store = Store(pg_url, timeout=1.0)
    fill(store, 3)
    for statement in (
        "DELETE FROM audit_high_water",
        "TRUNCATE audit_high_water",
        "INSERT INTO audit_high_water VALUES (10)",
        "UPDATE audit_high_water SET id = 1",  # lowering it would hide a deleted tail
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as c:
            c.exec_driver_sql(statement)
    with store.engine.begin() as c:  # an owner bypassing the guard
        c.exec_driver_sql("ALTER TABLE audit_high_water DISABLE TRIGGER audit_high_water_kept")
    assert "trigger audit_high_water_kept is disabled" in str(_broken(store))
    with store.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM audit_high_water")
    assert "below the last row 3" in str(_broken(store))
    with pytest.raises(AuditUnavailable, match="audit_high_water holds 0 rows"):
        store.append([audit_row(4)])
    with store.engine.begin() as c:
        c.exec_driver_sql("DROP TABLE audit_high_water")
    assert "audit_high_water was dropped" in str(_broken(store))
    store.engine.dispose()


def test_a_database_of_the_sequence_layout_is_refused(pg_url: str) -> None:
    Store(pg_url, timeout=1.0).engine.dispose()
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:  # what a database of the earlier layout lacks
        c.exec_driver_sql("DROP TABLE audit_high_water")
    engine.dispose()
    with pytest.raises(ConfigError, match="earlier flowrisk: it has no audit_high_water table"):
        Store(pg_url, timeout=1.0)
    with pytest.raises(ConfigError, match="earlier flowrisk"):
        Store(pg_url, timeout=1.0, read_only=True)
