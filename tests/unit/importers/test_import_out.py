"""An import replaces its --out folder only once the dataset is complete, and only when that
folder is new, empty or a flowrisk dataset: anything else is refused and left untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import flowrisk.importers as importers
from flowrisk.cli import app

runner = CliRunner()


def _sample(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "nodes.csv").write_text(
        "nodeid,isFraud,init_balance,fraudStep\n0,0,184.44,-1\n1,1,175.80,3\n2,0,12.00,-1\n",
        encoding="utf-8",
    )
    (folder / "transactions.csv").write_text(
        "sourceNodeId,targetNodeId,value,time\n0,1,103.55,1\n2,1,178.96,1\n1,0,50.00,4\n",
        encoding="utf-8",
    )
    return folder


def _content(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_foreign_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    sim = _sample(tmp_path / "sim")
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.docx").write_bytes(b"years of work")
    result = runner.invoke(app, ["import", "amlsim", str(sim), "--out", str(foreign)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:") and str(foreign) in errors[0]
    assert _content(foreign) == {"thesis.docx": b"years of work"}


def test_a_dataset_is_replaced_only_by_a_complete_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = _sample(tmp_path / "sim")
    out = tmp_path / "ds"
    assert runner.invoke(app, ["import", "amlsim", str(sim), "--out", str(out)]).exit_code == 0
    before = _content(out)
    assert "manifest.json" in before and "transactions.parquet" in before
    write = importers.write_manifest
    calls: list[Path] = []

    def fail_final(folder: Path, manifest: object) -> Path:
        calls.append(folder)
        if len(calls) == 2:  # the manifest of the finished dataset: the last write
            raise OSError(28, "No space left on device")
        return write(folder, manifest)  # type: ignore[arg-type]

    monkeypatch.setattr(importers, "write_manifest", fail_final)
    result = runner.invoke(app, ["import", "amlsim", str(sim), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert _content(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "sim"]
    monkeypatch.undo()
    assert runner.invoke(app, ["import", "amlsim", str(sim), "--out", str(out)]).exit_code == 0
    assert _content(out).keys() == before.keys()
