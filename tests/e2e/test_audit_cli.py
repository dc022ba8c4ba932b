"""The operator's audit commands through the installed ``flowrisk`` command: keys created and
revoked leave audit rows, ``audit verify`` exits 0 with the head hash on an intact trail and 1
naming the first broken row after tampering, ``--head`` catches a chain rewritten whole, and a
key is never created without its audit row."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.servers import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "FLOWRISK_HOME": str(tmp_path / "home"),
        "FLOWRISK_AUDIT_TIMEOUT_SECONDS": "0.5",
    }
    env.pop("FLOWRISK_DATABASE_URL", None)
    return env


def _db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(Path(env["FLOWRISK_HOME"]) / "audit.db", isolation_level=None)


def _export(env: dict[str, str], tmp_path: Path) -> list[dict[str, object]]:
    out = tmp_path / "audit.jsonl"
    done = run_cli(env, "audit", "export", "--format", "jsonl", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_keys_are_audited_and_verify_names_the_broken_row(
    env: dict[str, str], tmp_path: Path
) -> None:
    made = [
        run_cli(env, "keys", "create", "--role", role, "--label", role)
        for role in ("analyst", "admin")
    ]
    assert all(m.returncode == 0 for m in made), [m.stderr for m in made]
    key_id = made[0].stdout.strip().split("_")[1]
    assert run_cli(env, "keys", "revoke", key_id).returncode == 0
    rows = _export(env, tmp_path)
    assert [(r["route"], r["key_id"], r["role"]) for r in rows] == [
        ("flowrisk keys create", key_id, "analyst"),
        ("flowrisk keys create", made[1].stdout.strip().split("_")[1], "admin"),
        ("flowrisk keys revoke", key_id, "analyst"),
    ]
    assert all(r["method"] == "CLI" and str(r["actor"]).startswith("cli:") for r in rows)
    assert rows[0]["key_label"] == "analyst" and str(rows[0]["at"]).endswith("+00:00")

    good = run_cli(env, "audit", "verify")
    assert good.returncode == 0, good.stderr
    head = str(rows[-1]["row_hash"])
    assert "3 rows checked" in good.stdout and head in good.stdout
    assert run_cli(env, "audit", "verify", "--head", str(rows[0]["row_hash"])).returncode == 0

    with closing(_db(env)) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET role = 'admin' WHERE id = 1")
    bad = run_cli(env, "audit", "verify")
    assert bad.returncode == 1 and bad.stdout == ""
    assert (
        bad.stderr.strip()
        == "error: audit row 1 was rewritten: its content does not match its hash"
    )
    assert "Traceback" not in bad.stderr


def test_verify_catches_a_deleted_row_and_a_whole_chain_rewritten(
    env: dict[str, str], tmp_path: Path
) -> None:
    for _ in range(4):
        assert run_cli(env, "keys", "create", "--role", "analyst").returncode == 0
    head = str(_export(env, tmp_path)[-1]["row_hash"])
    with closing(_db(env)) as db:
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE id = 2")
    bad = run_cli(env, "audit", "verify")
    assert bad.returncode == 1 and "audit row 2 is missing" in bad.stderr
    with closing(_db(env)) as db:
        db.execute("DELETE FROM audit")
        db.execute("DELETE FROM sqlite_sequence")  # as if the trail had never existed
        db.execute(
            "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
        )
    assert run_cli(env, "keys", "create", "--role", "analyst").returncode == 0
    assert run_cli(env, "audit", "verify").returncode == 0  # self-consistent again...
    recorded = run_cli(env, "audit", "verify", "--head", head)
    assert (
        recorded.returncode == 1
        and f"the recorded head {head} is not in the chain" in recorded.stderr
    )


def test_no_key_without_its_audit_row(env: dict[str, str]) -> None:
    assert run_cli(env, "keys", "create", "--role", "analyst").returncode == 0
    with closing(_db(env)) as db:
        db.execute("BEGIN EXCLUSIVE")  # the audit database is locked for the next command
        refused = run_cli(env, "keys", "create", "--role", "analyst")
        db.execute("ROLLBACK")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: audit store sqlite:///") and "locked" in refused.stderr
    with closing(_db(env)) as db:
        keys = db.execute("SELECT count(*) FROM api_keys").fetchone()[0]
        rows = db.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert keys == rows == 1


def test_verify_and_export_of_a_missing_database_create_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    for args in (("audit", "verify"), ("audit", "export", "--out", str(tmp_path / "a.csv"))):
        done = run_cli(env, *args)
        assert done.returncode == 1 and "no such file" in done.stderr
    assert not (Path(env["FLOWRISK_HOME"]) / "audit.db").exists()
