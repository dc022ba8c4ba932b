"""Fail closed, the store's side: every write to a locked, read-only or full SQLite database
raises ``AuditUnavailable`` naming the store within about its timeout, and writes succeed
again once the cause is gone."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from flowrisk.audit import Store
from flowrisk.errors import AuditUnavailable
from tests.unit.audit.conftest import audit_row, fill

TIMEOUT = 0.5


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (a disk that fills up quickly, and that can be made read-only)."""
    where = tmp_path / "mnt"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _refused(call: object, *args: object) -> tuple[AuditUnavailable, float]:
    started = time.perf_counter()
    with pytest.raises(AuditUnavailable) as info:
        call(*args)  # type: ignore[operator]
    return info.value, time.perf_counter() - started


def test_a_locked_database_is_unavailable_within_the_timeout(sqlite_url: str) -> None:
    store = Store(sqlite_url, timeout=TIMEOUT)
    fill(store, 2)
    key_id, key = store.create_key("analyst")
    with closing(sqlite3.connect(store.engine.url.database or "", isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        for call, args in [
            (store.append, [[audit_row(1)]]),
            (store.probe_write, []),
            (store.create_key, ["analyst"]),
            (store.revoke_key, [key_id]),
        ]:
            error, seconds = _refused(call, *args)
            assert TIMEOUT * 0.8 < seconds < TIMEOUT + 1.5, (call, seconds)
            assert str(error).startswith(f"audit store {store.safe_url}: ")
            assert "locked" in str(error)
        assert store.verify(key) is not None  # reading still works (write-ahead log)
        other.execute("ROLLBACK")
    store.append([audit_row(3)])
    store.probe_write()
    assert store.check_chain().rows == 4  # 2 rows, the key's, and the one after the lock


def test_a_read_only_filesystem_is_unavailable(tmpfs: Path) -> None:
    store = Store(f"sqlite:///{tmpfs / 'audit.db'}", timeout=TIMEOUT)
    fill(store, 3)
    store.engine.dispose()  # a file system with files open for writing cannot be remounted
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    try:
        for call in (lambda: store.append([audit_row(9)]), store.probe_write):
            error, seconds = _refused(call)
            assert seconds < TIMEOUT + 1.5
            assert str(error).startswith(f"audit store {store.safe_url}: ")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    store.append([audit_row(10)])
    assert store.check_chain().rows == 4
    store.engine.dispose()


def test_a_full_disk_is_unavailable_and_nothing_half_written(tmpfs: Path) -> None:
    store = Store(f"sqlite:///{tmpfs / 'audit.db'}", timeout=TIMEOUT)
    fill(store, 3)
    ballast = tmpfs / "ballast"
    with pytest.raises(OSError), ballast.open("wb", buffering=0) as out:  # to the last byte
        while True:
            out.write(b"\0" * 4096)
    big = [audit_row(n, purpose="p" * 200, route="/r" * 100) for n in range(2_000)]
    error, seconds = _refused(store.append, big)
    assert "full" in str(error) and seconds < TIMEOUT + 1.5
    ballast.unlink()
    assert store.check_chain().rows == 3  # the refused batch left nothing
    store.append(big[:10])
    assert store.check_chain().rows == 13
    store.engine.dispose()


def test_an_unstorable_row_is_unavailable_not_a_crash(store: Store) -> None:
    error, _ = _refused(store.append, [audit_row(1, status="not a number")])
    assert "unstorable row" in str(error)
    error, _ = _refused(store.append, [{"at": None, "method": "GET"}])
    assert "at" in str(error)
    assert store.check_chain().rows == 0
