"""Fail closed, through the real `flowrisk serve` under uvicorn: with the audit store locked,
full, read-only (SQLite on a small ext4 file system of its own) or locked and down (PostgreSQL,
reached through a TCP forwarder that the test cuts), every scoring request answers a 503
problem with nothing of the score, ``/readyz`` is 503 and ``/healthz`` answers fast throughout;
once the store is back, scores are 200 again and each 200 has its audit row.

Needs root for the file system (``mount -o loop``) and a PostgreSQL server at 127.0.0.1:5432;
each part is skipped, with the reason, where that is not available."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TrainedWorld
from tests.e2e.live import (
    RESULT_KEYS,
    Forwarder,
    HealthWatch,
    Reply,
    call,
    create_key,
    flowrisk_serve,
    register_model,
    service_env,
)
from tests.unit.api.payloads import payload_for

pytestmark = pytest.mark.slow

AUDIT_TIMEOUT = "0.5"  # seconds: each refused request waits about this long
HEALTHZ_SLOWEST = 1.0  # seconds: /healthz must never wait for the database
PG_SERVER = os.environ.get("FLOWRISK_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")


@dataclass
class Scene:
    """A live service, what to send it, and how to read its audit rows back."""

    url: str
    headers: dict[str, str]
    payload: dict[str, Any]
    statuses_of: Callable[[str], list[int]]  # request id -> statuses of its audit rows

    def scoring(self, tag: str) -> list[Reply]:
        """One request to each scoring route, each with its own request id."""
        entity = self.payload["entity"]["entity_id"]
        routes = [
            ("GET", f"/v1/entities/{entity}/score?explain=false", None),
            ("POST", "/v1/scores?explain=false", self.payload),
            ("POST", "/v1/scores:batch?explain=false", {"items": [self.payload]}),
        ]
        return [
            call(
                f"{self.url}{path}",
                method,
                {**self.headers, "X-Request-ID": f"{tag}-{i}-{secrets.token_hex(4)}"},
                body,
            )
            for i, (method, path, body) in enumerate(routes)
        ]


def fails_closed(scene: Scene, tag: str) -> list[str]:
    """While the store is broken: 503 problems without a score on every scoring route,
    ``/readyz`` 503, ``/healthz`` 200 and fast all along. Returns the refused request ids
    (their rows are looked for once the store is back: a reader could wait on the lock)."""
    with HealthWatch(scene.url).watching() as watch:
        replies = scene.scoring(tag)
        ready = call(f"{scene.url}/readyz", timeout=30)
    for reply in replies:
        assert reply.status == 503, reply.text
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.body["title"] == "Audit store unavailable", reply.body
        assert "audit store" in reply.body["detail"]
        assert not any(k in reply.body for k in RESULT_KEYS), reply.body
        assert "probability" not in reply.text
    assert ready.status == 503, ready.text
    assert watch.statuses and set(watch.statuses) == {200}, watch.statuses
    assert watch.slowest < HEALTHZ_SLOWEST, f"/healthz took {watch.slowest:.2f} s"
    return [reply.headers["x-request-id"] for reply in replies]


def recovers(scene: Scene, tag: str, refused: Sequence[str] = ()) -> None:
    """Once the store is back: ready again, every scoring route 200 with its row, and no
    row for what was refused while it was broken."""
    deadline = time.monotonic() + 30
    while (ready := call(f"{scene.url}/readyz", timeout=30)).status != 200:
        assert time.monotonic() < deadline, f"not ready again: {ready.text}"
        time.sleep(0.25)
    for reply in scene.scoring(tag):
        assert reply.status == 200, reply.text
        assert scene.statuses_of(reply.headers["x-request-id"]) == [200]
    for rid in refused:
        assert scene.statuses_of(rid) == [], f"{rid} was answered 503 but has audit rows"


@pytest.fixture(scope="module")
def home(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit_failures_home")
    register_model(trained_world, folder)
    return folder


@pytest.fixture(scope="module")
def payload(trained_world: TrainedWorld) -> dict[str, Any]:
    """A small payload: an alerted entity with a few of its transactions."""
    t = trained_world
    entity = t.labels.filter(t.labels["label"] == 1).sort("entity_id")["entity_id"][0]
    full = payload_for(t.frames, entity, t.as_of)
    return {**full, "transactions": full["transactions"][:20]}


# --- SQLite on a file system of its own ----------------------------------------------------


@dataclass
class Disk:
    """A small ext4 file system on a loop device, mounted at ``mount``."""

    image: Path
    mount: Path

    @property
    def device(self) -> str:
        found = subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE", str(self.mount)],
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(found.stdout.strip()).name

    def attach(self) -> None:
        done = subprocess.run(
            ["mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a loop file system here: {done.stderr.strip()}")

    def detach(self) -> None:
        """Unmount; lazily only if it stays busy for 10 s (a lazy unmount keeps the old file
        system alive for whoever still holds it, and a new mount of the image would share
        it)."""
        deadline = time.monotonic() + 10
        while subprocess.run(["umount", str(self.mount)], capture_output=True).returncode:
            if time.monotonic() > deadline:
                subprocess.run(["umount", "-l", str(self.mount)], capture_output=True)
                return
            time.sleep(0.2)

    def fill(self) -> Path:
        """Write a file until the file system is full; returns it."""
        filler = self.mount / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            size = 1 << 20
            while size:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    size //= 2
        finally:
            os.close(fd)
        return filler

    def break_read_only(self) -> None:
        """An error the file system cannot go on after: ext4 turns itself read-only."""
        (Path("/sys/fs/ext4") / self.device / "trigger_fs_error").write_text("flowrisk test\n")


@contextmanager
def mounted(tmp: Path, megabytes: int = 24) -> Iterator[Disk]:
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None:
        pytest.skip("a file system of its own needs root and mkfs.ext4")
    disk = Disk(tmp / "audit.img", tmp / "mnt")
    disk.mount.mkdir()
    with disk.image.open("wb") as image:
        image.truncate(megabytes << 20)
    made = subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-m", "0", str(disk.image)], capture_output=True, text=True
    )
    if made.returncode != 0:
        pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
    disk.attach()
    try:
        yield disk
    finally:
        disk.detach()


def _sqlite_statuses(db: Path) -> Callable[[str], list[int]]:
    def statuses(request_id: str) -> list[int]:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
            rows = conn.execute(
                "SELECT status FROM audit WHERE request_id = ? ORDER BY id", (request_id,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    return statuses


@contextmanager
def sqlite_service(
    home: Path, trained_world: TrainedWorld, payload: dict[str, Any], db: Path, log: str
) -> Iterator[Scene]:
    env = service_env(home, database_url=f"sqlite:///{db}", audit_timeout_seconds=AUDIT_TIMEOUT)
    key = create_key(env)
    with flowrisk_serve(env, home / log, "--dataset", str(trained_world.folder)) as url:
        headers = {"X-API-Key": key, "X-Purpose": "case E2E-audit"}
        yield Scene(url, headers, payload, _sqlite_statuses(db))


@pytest.fixture(scope="module")
def sqlite_scene(
    home: Path,
    trained_world: TrainedWorld,
    payload: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Scene, Disk]]:
    with mounted(tmp_path_factory.mktemp("audit_disk")) as disk:
        db = disk.mount / "audit.db"
        with sqlite_service(home, trained_world, payload, db, "sqlite.log") as scene:
            recovers(scene, "warm")
            yield scene, disk


def test_sqlite_locked(sqlite_scene: tuple[Scene, Disk]) -> None:
    """Another connection holds the write lock (``BEGIN EXCLUSIVE``)."""
    scene, disk = sqlite_scene
    holder = sqlite3.connect(disk.mount / "audit.db", timeout=10, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        refused = fails_closed(scene, "locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    recovers(scene, "unlocked", refused)


def test_sqlite_full(sqlite_scene: tuple[Scene, Disk]) -> None:
    """The file system is full: the write-ahead log is emptied first, so that a commit needs
    new blocks (rows fitting in space the log already holds would still be durable)."""
    scene, disk = sqlite_scene
    database = sqlite3.connect(disk.mount / "audit.db", timeout=10, isolation_level=None)
    with closing(database) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0, "the service held the log: it could not be emptied"
    filler = disk.fill()
    try:
        refused = fails_closed(scene, "full")
    finally:
        filler.unlink()
    recovers(scene, "space", refused)


def test_sqlite_read_only(
    home: Path,
    trained_world: TrainedWorld,
    payload: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The file system turns read-only under the running service (an ext4 error). Its open
    database files stay dead until the file system is checked and mounted again, so recovery
    here is the operator's: remount, restart, and the trail goes on."""
    with mounted(tmp_path) as disk:
        db = disk.mount / "audit.db"
        with sqlite_service(home, trained_world, payload, db, "ro-1.log") as scene:
            recovers(scene, "before")
            disk.break_read_only()
            refused = fails_closed(scene, "read-only")
        disk.detach()
        checked = subprocess.run(
            ["e2fsck", "-f", "-y", str(disk.image)], capture_output=True, text=True
        )
        assert checked.returncode in (0, 1), checked.stdout + checked.stderr
        disk.attach()
        with sqlite_service(home, trained_world, payload, db, "ro-2.log") as scene:
            recovers(scene, "remounted", refused)


# --- PostgreSQL, directly and through a forwarder -------------------------------------------


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    import sqlalchemy as sa

    admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {PG_SERVER}: {str(exc).splitlines()[0]}")
    name = f"flowrisk_e2e_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="module")
def pg_scene(
    home: Path, trained_world: TrainedWorld, payload: dict[str, Any], pg_database: str
) -> Iterator[tuple[Scene, Forwarder, Any]]:
    import sqlalchemy as sa

    server = sa.engine.make_url(PG_SERVER)
    forwarder = Forwarder((server.host or "127.0.0.1", server.port or 5432))
    forwarder.start()
    through = server.set(host="127.0.0.1", port=forwarder.port, database=pg_database)
    env = service_env(
        home,
        database_url=through.render_as_string(hide_password=False),
        audit_timeout_seconds=AUDIT_TIMEOUT,
    )
    key = create_key(env)
    # bounded: a test waiting on its own lock must fail, not hang
    direct = sa.create_engine(
        f"{PG_SERVER}/{pg_database}", connect_args={"options": "-c statement_timeout=20000"}
    )

    def statuses(request_id: str) -> list[int]:
        with direct.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT status FROM audit WHERE request_id = :r ORDER BY id"),
                {"r": request_id},
            ).scalars()
            return [int(s) for s in rows]

    try:
        with flowrisk_serve(env, home / "pg.log", "--dataset", str(trained_world.folder)) as url:
            scene = Scene(url, {"X-API-Key": key, "X-Purpose": "case E2E-pg"}, payload, statuses)
            recovers(scene, "warm")
            yield scene, forwarder, direct
    finally:
        forwarder.cut()
        direct.dispose()


def test_postgresql_locked(pg_scene: tuple[Scene, Forwarder, Any]) -> None:
    """Another session holds ``LOCK TABLE audit IN ACCESS EXCLUSIVE MODE``."""
    scene, _, direct = pg_scene
    with direct.connect() as conn:
        conn.exec_driver_sql("SET lock_timeout = '5s'")
        conn.exec_driver_sql("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")
        try:
            refused = fails_closed(scene, "pg-locked")
        finally:
            conn.rollback()
    recovers(scene, "pg-unlocked", refused)


def test_postgresql_down(pg_scene: tuple[Scene, Forwarder, Any]) -> None:
    """The server goes away: every connection through the forwarder is cut, and new ones
    are refused, until it listens again."""
    scene, forwarder, _ = pg_scene
    forwarder.cut()
    try:
        refused = fails_closed(scene, "pg-down")
    finally:
        forwarder.start()
    recovers(scene, "pg-up", refused)
