"""``flowrisk score`` measures feature drift against the training reference the model carries:
a model trained by the command line on one generated world scores that world without drift and
a world generated with other parameters with a warning naming the drifting features; each run
is logged to the tracking server; a version registered without a reference is scored with a
note, not a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.config import get_settings
from flowrisk.models.bundle import REFERENCE_FILE
from flowrisk.models.monitoring import SCORING_EXPERIMENT
from flowrisk.synth import WorldParams, generate_world

runner = CliRunner()


def _said(output: str) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(output.split())


def _score(dataset: Path, out: Path) -> tuple[str, dict[str, object]]:
    args = ["score", str(dataset), "--out", str(out), "--explain", "none"]
    result = runner.invoke(app, [*args, "--model", "models:/flowrisk/1"])
    assert result.exit_code == 0, result.output
    return _said(result.output), json.loads((out / "run.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_score_reports_drift_of_another_world_and_logs_it(
    small_world_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'server' / 'mlflow.db'}"
    (tmp_path / "server").mkdir()
    monkeypatch.setenv("FLOWRISK_MLFLOW_URI", uri)
    get_settings.cache_clear()
    trained = runner.invoke(app, ["train", str(small_world_dir)])
    assert trained.exit_code == 0, trained.output
    other = tmp_path / "other"  # other seed, three times the companies
    generate_world(
        WorldParams(entities=2_000, seed=6, chunk_entities=1_000, company_share=0.4), other
    )

    said, run = _score(small_world_dir, tmp_path / "same")
    drift = run["drift"]
    assert isinstance(drift, dict) and drift["status"] == "computed"
    assert drift["drifting"] == [] and 0 <= drift["max_psi"] <= 0.25
    assert drift["reference_as_of"][:10] == run["as_of"][:10]  # the reference is the latest date
    assert "Feature drift against the training reference" in said
    assert "feature drift:" not in said  # band shares may warn: the score date is later

    said, run = _score(other, tmp_path / "other-scores")
    drift = run["drift"]
    assert isinstance(drift, dict) and len(drift["drifting"]) >= 5
    assert all(drift["psi"][name] > 0.25 for name in drift["drifting"])
    assert f"warning: feature drift: {len(drift['drifting'])} of" in said
    assert all(f"{name} (PSI" in said for name in drift["drifting"][:5])

    [reference] = list((get_settings().home / "mlartifacts").rglob(REFERENCE_FILE))
    reference.unlink()  # what a version registered before drift monitoring carries
    said, run = _score(other, tmp_path / "old-model")
    assert run["drift"] == {**run["drift"], "status": "skipped", "psi": {}}
    assert "note: feature drift not measured: the model carries no training reference" in said

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(SCORING_EXPERIMENT)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
    assert [r.data.tags["drift_status"] for r in runs] == ["computed", "computed", "skipped"]
    trained_by = client.get_model_version("flowrisk", "1").run_id
    assert {r.data.tags["training_run_id"] for r in runs} == {trained_by}
    shifted = runs[1].data
    assert shifted.metrics["drift.drifting_features"] == len(drift["drifting"]) > 0
    assert shifted.tags["mlflow.runName"].startswith("score other ")
    assert shifted.metrics["entities"] == 2_000 and "psi.timing_active_days_365d" in shifted.metrics
