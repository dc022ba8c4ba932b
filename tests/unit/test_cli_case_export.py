"""``flowrisk cases export``: a case's goAML report from the command line on a trained world
with a registered champion: valid against the shipped XSD, the case's reference, analyst,
disposition and evidence transactions in it, one audit row with the case as purpose; an
unset reporting entity (exit code 1: a setting) and an unknown case (2) refused, nothing written."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree
from typer.testing import CliRunner

from flowrisk.audit import Store
from flowrisk.cli import app
from flowrisk.config import get_settings
from flowrisk.features import build_profiles
from flowrisk.models.batch import explain_entities
from flowrisk.reports.goaml import validate_goaml
from flowrisk.reports.goaml_build import evidence_transactions
from tests.conftest import TrainedWorld
from tests.e2e.live import register_model

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    done = runner.invoke(app, list(args))
    return done.exit_code, done.output


def _suspect(t: TrainedWorld) -> dict[str, Any]:
    """A laundering entity of the world whose explanation cites transactions."""
    guilty = t.labels.filter(pl.col("label") == 1)["entity_id"].head(30).to_list()
    profiles = build_profiles(t.frames, t.as_of, t.baselines, entities=guilty).collect()
    rows = explain_entities(t.frames, profiles, t.as_of, t.model, t.baselines)
    return next(r for r in rows.iter_rows(named=True) if evidence_transactions(r))


@pytest.mark.slow
def test_a_case_exported_as_goaml(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = trained_world
    register_model(t, Path(os.environ["FLOWRISK_HOME"]))
    row = _suspect(t)
    entity = row["entity_id"]
    code, out = _run("cases", "open", entity, "--note", "top alert")
    assert code == 0, out
    case_id = re.search(r"case (C-\d{4}-\d{4})", out).group(1)  # type: ignore[union-attr]
    note = "Statements show cash split across branches"
    code, out = _run("cases", "dispose", case_id, "--reason", "confirmed_suspicious",
                     "--note", note)  # fmt: skip
    assert code == 0, out
    xml = tmp_path / "str.xml"
    where = ("--dataset", str(t.folder), "--as-of", t.as_of.isoformat())

    code, out = _run("cases", "export", case_id, "--out", str(xml), *where)
    assert code == 1 and "FLOWRISK_REPORTING_ENTITY_ID is not set" in out and not xml.exists()

    monkeypatch.setenv("FLOWRISK_REPORTING_ENTITY_ID", "FR-0042")
    get_settings.cache_clear()
    before = list(Store(get_settings().audit_url).audit_rows())
    code, out = _run("cases", "export", case_id, "--out", str(xml), *where)
    assert code == 0, out
    assert f"case {case_id} ({entity}): goAML report" in out and str(xml) in out.replace("\n", "")
    data = xml.read_bytes()
    validate_goaml(data)
    doc = etree.fromstring(data)
    assert doc.findtext("rentity_id") == "FR-0042"
    assert doc.findtext("entity_reference") == case_id
    assert doc.findtext("report_code") == "STR"
    reason = doc.findtext("reason") or ""
    assert f"Case {case_id}: reported (confirmed suspicious" in reason and note in reason
    numbers = [int(n) for n in doc.xpath("//transaction/transactionnumber/text()")]
    assert sorted(numbers) == evidence_transactions(row)
    person = doc.find("reporting_person")
    assert person is not None and "cli:" in " ".join(person.itertext())

    rows = list(Store(get_settings().audit_url).audit_rows())[len(before) :]
    assert [(r["route"], r["entity_id"], r["purpose"], r["method"]) for r in rows] == [
        ("flowrisk cases export", entity, case_id, "CLI")
    ]
    assert rows[0]["band"] == row["band"] and rows[0]["model_version"] == "1"

    code, out = _run("cases", "export", "C-1999-0001", "--out", str(tmp_path / "x.xml"), *where)
    assert code == 2 and "no case 'C-1999-0001'" in out and not (tmp_path / "x.xml").exists()
    code, out = _run("cases", "export", case_id, "--out", str(tmp_path / "x.txt"), *where)
    assert code == 2 and "--out: must end in .xml" in out
