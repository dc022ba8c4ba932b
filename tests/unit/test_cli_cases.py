"""The cases' commands: a case's life from the command line (each change audited as the
operating-system user), the typed choices held equal to the lifecycle's, one-line errors with
exit code 2, and the feedback export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import polars as pl
from typer.testing import CliRunner

from flowrisk.audit import Store
from flowrisk.cases import REASONS, STATUSES
from flowrisk.cli import app
from flowrisk.cli.cases import ReasonCode, Status
from flowrisk.config import get_settings

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    done = runner.invoke(app, list(args))
    return done.exit_code, done.output


def test_the_parser_choices_are_the_lifecycle_s() -> None:
    assert get_args(Status) == STATUSES
    assert get_args(ReasonCode) == tuple(REASONS)


def test_a_case_from_the_command_line(tmp_path: Path) -> None:
    code, out = _run("cases", "open", "E000123", "--run", "run-7", "--score", "96.1",
                     "--band", "critical", "--note", "top of the queue")  # fmt: skip
    assert code == 0, out
    case_id = re.search(r"case (C-\d{4}-\d{4})", out).group(1)  # type: ignore[union-attr]
    assert _run("cases", "assign", case_id, "alice")[0] == 0
    assert _run("cases", "status", case_id, "escalated", "--note", "needs a supervisor")[0] == 0
    assert _run("cases", "note", case_id, "bank statements requested")[0] == 0
    code, out = _run("cases", "dispose", case_id, "--reason", "confirmed_suspicious")
    assert code == 0 and "closed as reported (confirmed_suspicious)" in out
    code, out = _run("cases", "show", case_id)
    assert code == 0
    for said in ("top of the queue", "assigned to alice", "status open -> escalated",
                 "bank statements requested", "closed as reported"):  # fmt: skip
        assert said in out
    code, out = _run("cases", "list", "--status", "reported")
    assert code == 0 and case_id in out and "E000123" in out
    rows = list(Store(get_settings().audit_url).audit_rows())
    assert [r["route"].rsplit(" ", 1)[-1] for r in rows] == [
        "open", "assign", "status", "note", "dispose",
    ]  # fmt: skip
    assert all(r["method"] == "CLI" and str(r["actor"]).startswith("cli:") for r in rows)
    code, out = _run("feedback", "export", "--out", str(tmp_path / "fb.parquet"))
    assert code == 0 and "1 feedback label(s) (1 confirmed, 0 dismissed)" in out
    exported = pl.read_parquet(tmp_path / "fb.parquet")
    assert exported.select("entity_id", "label", "case_id", "reason_code").rows() == [
        ("E000123", 1, case_id, "confirmed_suspicious")
    ]
    assert exported["decided_at"].dtype == pl.Datetime("us", "UTC")


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    code, out = _run("cases", "open", "E1")
    case_id = re.search(r"C-\d{4}-\d{4}", out).group(0)  # type: ignore[union-attr]
    code, out = _run("cases", "status", case_id, "dismissed")
    assert code == 2 and "error:" in out and "with a reason code" in out
    code, out = _run("cases", "open", "E1")
    assert code == 2 and f"already has open case {case_id}" in out
    code, out = _run("cases", "dispose", case_id, "--reason", "tired")
    assert code == 2 and "--reason" in out  # refused by the parser, naming the option
    code, out = _run("cases", "note", "C-1999-0001", "hello")
    assert code == 2 and "no case 'C-1999-0001'" in out
    code, out = _run("feedback", "export", "--out", str(tmp_path / "fb.txt"))
    assert code == 2 and "--out: must end in .csv or .parquet" in out
