"""A tiny clean world to corrupt, and helpers to run `flowrisk validate` on a copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.synth import WorldParams, generate_world


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean_world")
    generate_world(WorldParams(entities=400, months=2, seed=21), out)
    return out


@pytest.fixture
def world_copy(clean_world: Path, tmp_path: Path) -> Path:
    """A private copy of the clean world, free to edit: its manifest keeps the period but lists
    no digests, so an edited table reaches the contracts (``signed_copy`` keeps them)."""
    copy = tmp_path / "dataset"
    shutil.copytree(clean_world, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.fixture
def signed_copy(clean_world: Path, tmp_path: Path) -> Path:
    """A private copy of the clean world with its manifest's SHA-256 of every file."""
    copy = tmp_path / "signed"
    shutil.copytree(clean_world, copy)
    return copy


def run_validate(dataset: Path, *args: str) -> tuple[int, dict | None, str]:
    """Run `flowrisk validate` in process: exit code, JSON report (if any), stderr."""
    report = dataset.parent / "report.json"
    result = CliRunner().invoke(app, ["validate", str(dataset), "--report", str(report), *args])
    data = json.loads(report.read_text()) if report.is_file() else None
    return result.exit_code, data, result.stderr
