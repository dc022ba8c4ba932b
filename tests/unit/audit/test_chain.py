"""The hash chain on real SQLite files: intact after many appends, from one process or two at
once; every kind of tampering (a rewrite, a replaced row, a deleted middle row or tail, a
dropped guard, a whole chain rewritten) is named by ``check_chain``."""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flowrisk.audit import GENESIS, Store
from flowrisk.audit.chain import clean_row, clean_text, row_hash, seal_row
from flowrisk.errors import AuditChainBroken, ConfigError
from tests.unit.audit.conftest import audit_row, fill


@contextmanager
def raw(store: Store) -> Iterator[sqlite3.Connection]:
    """The database file as an attacker with shell access opens it (autocommit)."""
    path = store.engine.url.database
    assert path is not None
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def broken(store: Store, head: str | None = None) -> AuditChainBroken:
    with pytest.raises(AuditChainBroken) as info:
        store.check_chain(head)
    return info.value


def test_chain_is_intact_after_many_appends(store: Store) -> None:
    fill(store, 120, batch=7)
    rows = list(store.audit_rows())
    report = store.check_chain()
    assert (report.rows, report.head_id, report.head_hash) == (120, 120, rows[-1]["row_hash"])
    assert [r["id"] for r in rows] == list(range(1, 121))
    assert rows[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["row_hash"] for a, b in itertools.pairwise(rows))
    assert all(r["at"].tzinfo is UTC for r in rows)  # SQLite's naive times come back as UTC
    assert store.check_chain(rows[40]["row_hash"]) == report  # a recorded head still there


def test_an_empty_trail_is_intact(store: Store) -> None:
    report = store.check_chain()
    assert (report.rows, report.head_id, report.head_hash) == (0, None, GENESIS)


def test_the_hash_covers_every_field_and_the_zone_of_time() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    base = seal_row(clean_row(audit_row(at=at)), 7, GENESIS)
    for field, value in [
        ("entity_id", "E999999"),
        ("purpose", "something else"),
        ("score", 0.9),
        ("status", 500),
        ("prev_hash", "1" * 64),
        ("id", 8),
        ("actor", "cli:mallory"),
        ("request_id", "other"),
    ]:
        assert row_hash({**base, field: value}) != base["row_hash"], field
    naive = at.replace(tzinfo=None)  # the same instant as SQLite returns it: the same hash
    assert row_hash({**base, "at": naive}) == base["row_hash"]
    paris = at.astimezone(ZoneInfo("Europe/Paris"))
    assert row_hash({**base, "at": paris}) == base["row_hash"]
    assert row_hash({**base, "at": at + timedelta(microseconds=1)}) != base["row_hash"]


def test_text_is_made_storable() -> None:
    assert clean_text("E\x00\x1b[31m\u0085\ud800ok", 64) == "E\\x00\\x1b[31m\\x85\\ud800ok"
    assert clean_text("x" * 300, 200) == "x" * 200
    assert clean_text(None, 5) is None
    row = clean_row(audit_row(method="PROPFIND-VERY-LONG-METHOD", purpose="p" * 500))
    assert row["method"] == "PROPFIND-VERY-LO" and len(row["purpose"]) == 200


def _append_many(url: str, worker: int, count: int) -> None:
    store = Store(url, timeout=10.0)
    for n in range(count):
        store.append([audit_row(worker * 10_000 + n), audit_row(worker * 10_000 + n)])


@pytest.mark.slow
def test_two_processes_appending_at_once_keep_one_chain(sqlite_url: str) -> None:
    Store(sqlite_url).engine.dispose()  # created once, before the writers start
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_append_many, args=(sqlite_url, w, 150)) for w in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    store = Store(sqlite_url)
    rows = list(store.audit_rows())
    assert len(rows) == 600 and len({r["id"] for r in rows}) == 600
    assert {r["entity_id"][:2] for r in rows} == {"E0"} and store.check_chain().rows == 600
    # both writers' rows interleave in one chain
    assert len({r["entity_id"][1:3] for r in rows}) == 2


def test_a_rewritten_row_is_named(store: Store) -> None:
    fill(store, 10)
    with raw(store) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET band = 'low', score = 0.01 WHERE id = 6")
    error = broken(store)
    assert error.row_id == 6 and "row 6 was rewritten" in str(error)


def test_insert_or_replace_is_refused_and_detected(store: Store) -> None:
    fill(store, 10)
    forged = (
        "INSERT OR REPLACE INTO audit SELECT 4, at, key_id, role, actor, method, route, "
        "status, 'E-SOMEONE-ELSE', purpose, model_version, score, band, request_hash, "
        "request_id, prev_hash, row_hash FROM audit WHERE id = 4"
    )
    with raw(store) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(forged)
        db.execute("DROP TRIGGER audit_no_replace")
        db.execute(forged)  # rewrites row 4 without touching the delete trigger
        assert db.execute("SELECT entity_id FROM audit WHERE id = 4").fetchone() == (
            "E-SOMEONE-ELSE",
        )
    error = broken(store)
    assert error.row_id == 4 and "row 4 was rewritten" in str(error)


def test_a_replaced_row_with_its_hash_recomputed_breaks_the_next_link(store: Store) -> None:
    fill(store, 10)
    rows = list(store.audit_rows())
    forged = seal_row(clean_row({**rows[4], "entity_id": "E-OTHER"}), 5, rows[3]["row_hash"])
    with raw(store) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute(
            "UPDATE audit SET entity_id = ?, row_hash = ? WHERE id = 5",
            (forged["entity_id"], forged["row_hash"]),
        )
    error = broken(store)
    assert error.row_id == 5 and "row 6 does not chain to row 5" in str(error)


def test_a_deleted_middle_row_is_named(store: Store) -> None:
    fill(store, 10)
    with raw(store) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM audit WHERE id = 5")
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE id = 5")
    error = broken(store)
    assert error.row_id == 5 and "audit row 5 is missing" in str(error)


def test_a_deleted_tail_is_named_and_its_ids_never_reused(store: Store) -> None:
    fill(store, 10)
    with raw(store) as db:
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE id > 7")
    error = broken(store)
    assert error.row_id == 8 and "audit rows 8-10 are missing after row 7" in str(error)
    store.append([audit_row(99)])
    assert [r["id"] for r in store.audit_rows()][-2:] == [7, 11]  # 8 to 10 are never reused
    assert broken(store).row_id == 8


def test_a_dropped_guard_is_reported_never_put_back(store: Store, sqlite_url: str) -> None:
    fill(store, 3)
    with raw(store) as db:
        db.execute("DROP TRIGGER audit_no_update")
    error = broken(store)
    assert error.row_id is None and "trigger audit_no_update is missing" in str(error)
    Store(sqlite_url).engine.dispose()  # the service starting again does not re-create it
    Store(sqlite_url, read_only=True).engine.dispose()
    with raw(store) as db:
        names = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert names == {"audit_no_delete", "audit_no_replace"}
    assert "audit_no_update is missing" in str(broken(store))


def test_a_whole_chain_rewritten_is_caught_by_the_recorded_head(store: Store) -> None:
    fill(store, 5)
    recorded = store.check_chain().head_hash
    rows = list(store.audit_rows())
    prev = GENESIS
    with raw(store) as db:
        for name in ("audit_no_update", "audit_no_delete", "audit_no_replace"):
            db.execute(f"DROP TRIGGER {name}")
        for row in rows:  # every row rewritten and re-hashed, the guards put back
            forged = seal_row(clean_row({**row, "purpose": "routine"}), row["id"], prev)
            db.execute(
                "UPDATE audit SET purpose = ?, prev_hash = ?, row_hash = ? WHERE id = ?",
                (forged["purpose"], prev, forged["row_hash"], row["id"]),
            )
            prev = forged["row_hash"]
    with raw(store) as db:
        from flowrisk.audit.tables import SQLITE_GUARDS

        for sql in SQLITE_GUARDS.values():
            db.execute(sql)
    assert store.check_chain().head_hash == prev  # self-consistent again...
    error = broken(store, recorded)  # ...but not the chain the operator recorded
    assert error.row_id is None and recorded in str(error)


def test_a_database_of_the_previous_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE audit (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, key_id VARCHAR(16),"
            " role VARCHAR(16), method VARCHAR(8) NOT NULL, route VARCHAR(200) NOT NULL,"
            " status INTEGER NOT NULL, entity_id VARCHAR(64), purpose VARCHAR(200),"
            " model_version VARCHAR(32), score FLOAT, band VARCHAR(16),"
            " request_hash VARCHAR(64) NOT NULL)"
        )
        db.commit()
    with pytest.raises(ConfigError, match=r"earlier flowrisk.*actor, request_id, prev_hash"):
        Store(f"sqlite:///{path}")


def test_reading_never_creates_or_writes(tmp_path: Path, store: Store, sqlite_url: str) -> None:
    missing = tmp_path / "nowhere.db"
    with pytest.raises(ConfigError, match="no such file"):
        Store(f"sqlite:///{missing}", read_only=True)
    assert not missing.exists()
    fill(store, 3)
    store.engine.dispose()
    reader = Store(sqlite_url, read_only=True)
    with pytest.raises(Exception, match="readonly"), reader.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM api_keys")
    assert reader.check_chain().rows == 3


@pytest.mark.slow
def test_the_walk_streams_in_constant_memory(store: Store) -> None:
    import time
    import tracemalloc

    from flowrisk.audit.tables import audit

    count, prev, rows = 100_000, GENESIS, []
    template = clean_row(audit_row(1))
    for n in range(1, count + 1):
        rows.append(seal_row({**template, "entity_id": f"E{n:07d}"}, n, prev))
        prev = rows[-1]["row_hash"]
    with store.engine.begin() as conn:
        conn.execute(audit.insert(), rows)
        conn.exec_driver_sql(f"UPDATE sqlite_sequence SET seq = {count} WHERE name = 'audit'")
    del rows
    started = time.perf_counter()
    report = store.check_chain()
    seconds = time.perf_counter() - started
    assert (report.rows, report.head_hash) == (count, prev)
    assert seconds < 30, seconds  # about 15 µs a row on a busy two-core machine
    tracemalloc.start()
    store.check_chain()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 * 2**20, peak  # the rows alone would take several hundred MiB
