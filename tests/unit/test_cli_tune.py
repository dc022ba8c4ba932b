"""`flowrisk tune` then `flowrisk train --params` as a user runs them, and the parameter files
and budgets the two commands refuse, naming the key or option."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.models.tune import SEARCH_SPACE
from tests.conftest import run_flowrisk

runner = CliRunner()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"num_leaves": 1}', "'num_leaves' must be an integer from 2 to 131072, got 1"),
        ('{"learning_rate": -0.1}', "'learning_rate' must be a number above 0"),
        ('{"bagging_fraction": "most"}', "'bagging_fraction' must be a number above 0"),
        ('{"lambda_l2": 1, "reg_lambda": 2}', "are the same LightGBM parameter"),
        ('{"num_leaf": 15, "learning_rat": 0.1}', "'learning_rat' is not a LightGBM parameter"),
    ],
)
def test_train_refuses_a_bad_params_file_naming_the_key(
    small_world_dir: Path, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "best-params.json"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["train", str(small_world_dir), "--params", str(path)])
    assert result.exit_code == 2, result.output
    assert "params" in result.stderr and message in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trials", "0"], "trials: must be at least 1"),
        (["--timeout", "-5"], "timeout"),
        (["--out", "."], "is a folder"),
    ],
)
def test_tune_refuses_an_empty_budget(small_world_dir: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["tune", str(small_world_dir), *args])
    assert result.exit_code == 2 and message in result.stderr


@pytest.mark.slow
def test_tune_then_train_with_its_best_params(small_world_dir: Path, tmp_path: Path) -> None:
    """The best parameters `tune` writes are what `train --params` trains with, and the model's
    run and card say they came from that file."""
    env = {**os.environ, "FLOWRISK_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    best = tmp_path / "best-params.json"

    def flowrisk(*args: str) -> subprocess.CompletedProcess[str]:
        return run_flowrisk(env, *args, timeout=900)

    tuned = flowrisk(
        "tune", str(small_world_dir), "--trials", "2", "--seed", "3", "--out", str(best)
    )
    assert tuned.returncode == 0, tuned.stderr
    assert "Best 2 of 2 trials by validation PR-AUC" in tuned.stdout
    assert "trial 0" in tuned.stdout and "trial 1" in tuned.stdout
    assert f"--params {best} --seed 3" in " ".join(tuned.stdout.split())
    params = json.loads(best.read_text(encoding="utf-8"))
    assert set(params) == {k.name for k in SEARCH_SPACE}

    trained = flowrisk("train", str(small_world_dir), "--params", str(best))
    assert trained.returncode == 0, trained.stderr
    assert "Registered flowrisk version 1" in trained.stdout

    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}")
    version = client.get_model_version("flowrisk", "1")
    assert f"overrides from the file `{best.resolve()}`" in (version.description or "")
    logged = client.get_run(version.run_id).data.params
    assert logged["params_file"] == str(best.resolve())
    for name, value in params.items():
        assert logged[f"lgb_{name}"] == str(value)
