"""``flowrisk score`` as an operator meets it when things go wrong: a refused write is one
``error:`` line with exit 2; SIGINT and SIGKILL part-way through leave the previous output
byte for byte and nothing that looks like a finished run."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import flowrisk.cli.scoring as scoring_cli
from flowrisk.cli import app
from flowrisk.io import ParquetSink
from flowrisk.models.bundle import Bundle
from tests.bands import assert_bands_follow_scores, assert_no_certain_probability
from tests.conftest import TrainedWorld, run_flowrisk

runner = CliRunner()


def _content(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_read_only_output_is_one_error_line(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = trained_world
    bundle = Bundle(t.model, t.baselines, "models:/flowrisk/1", "1")
    monkeypatch.setattr(scoring_cli, "_bundle", lambda model, dataset: bundle)

    def read_only(self: ParquetSink, frame: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(ParquetSink, "write", read_only)
    out = tmp_path / "scores"
    args = ["score", str(t.folder), "--out", str(out), "--no-validate", "--as-of", "2025-12-01"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip() and "━" not in line]
    assert lines[-1].startswith("error: out: cannot write") and "Read-only" in lines[-1]
    assert "Traceback" not in result.output and not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def home(small_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A FLOWRISK_HOME with version 1 of flowrisk trained by the command line."""
    env = {**os.environ, "FLOWRISK_HOME": str(tmp_path_factory.mktemp("cli_home"))}
    trained = _flowrisk(env, "train", str(small_world_dir))
    assert trained.returncode == 0, trained.stderr
    return env


_flowrisk = run_flowrisk


def _score_args(dataset: Path, out: Path) -> list[str]:
    return ["score", str(dataset), "--out", str(out), "--model", "models:/flowrisk/1",
            "--explain", "alerts", "--partitions", "20"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_an_interrupted_score_leaves_the_previous_output(
    home: dict[str, str], trained_world_dir: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "scores"
    first = _flowrisk(home, *_score_args(trained_world_dir, out))
    assert first.returncode == 0, first.stderr
    before = _content(out)
    assert json.loads(before["run.json"])["status"] == "complete"
    process = subprocess.Popen(
        [sys.executable, "-m", "flowrisk", *_score_args(trained_world_dir, out)],
        env=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    partial = tmp_path / f".scores.partial-{process.pid}"
    deadline = time.monotonic() + 300
    while not (partial / "scores.parquet").is_file():  # part-way: the first partition written
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(sig)
    assert process.wait(timeout=120) != 0
    assert _content(out) == before
    leftovers = [p for p in tmp_path.iterdir() if p.name != "scores"]
    if sig == signal.SIGINT:  # cleaned up on the way out
        assert leftovers == []
    assert not any((p / "run.json").exists() for p in leftovers)  # nothing looks finished
    again = _flowrisk(home, *_score_args(trained_world_dir, out))
    assert again.returncode == 0, again.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["scores"]  # what a kill left is cleared
    assert json.loads((out / "run.json").read_text())["entities"] == 6_000
    shutil.rmtree(out)


_SHOWN = re.compile(r": score ([\d.]+) \((\w+), probability ([\d.]+)\)")


@pytest.mark.slow
def test_the_command_line_shows_bands_that_follow_scores(
    home: dict[str, str], small_world_dir: Path, tmp_path: Path
) -> None:
    """``flowrisk score`` prints each band's share against the alert budget; ``flowrisk
    explain`` on the riskiest and on ordinary entities shows bands that never step down as its
    scores rise, and no probability reading 1.000 or 0.000."""
    out = tmp_path / "scores"
    version = ("--model", "models:/flowrisk/1")
    scored = _flowrisk(
        home, "score", str(small_world_dir), "--out", str(out), "--explain", "none", *version
    )
    assert scored.returncode == 0, scored.stderr
    said = " ".join(scored.stdout.split())
    assert "Bands against the alert budget (1.00% high or critical; tolerance 50%" in said
    for band in ("critical", "high", "medium", "low"):
        assert re.search(rf"{band}\s+│\s+[\d,]+\s+│\s+[\d.]+%\s+│\s+[\d.]+%", scored.stdout), band
    if "drifted" in scored.stdout:
        assert "warning: band shares drifted beyond 50%" in scored.stderr
    ranked = pl.read_parquet(out / "scores.parquet").sort("score", descending=True)
    picks = [*ranked["entity_id"].head(3), *ranked["entity_id"].gather([400, 1_500])]
    shown, printed = [], []
    for entity in picks:
        said = _flowrisk(
            home, "explain", str(small_world_dir), entity, "--purpose", "case 17", *version
        )
        assert said.returncode == 0, said.stderr
        found = _SHOWN.search(said.stdout)
        assert found, said.stdout
        score, band, probability = found.groups()
        shown.append((float(score), band))
        printed.append(probability)
        assert float(score) == ranked.filter(pl.col("entity_id") == entity)["score"][0]
    assert_bands_follow_scores(shown)
    assert_no_certain_probability(printed)
