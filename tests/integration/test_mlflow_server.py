"""Training, promotion and loading through a real `mlflow server` on 127.0.0.1, as a team with
a shared tracking server uses flowrisk: artifacts go through the server's HTTP proxy."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flowrisk.errors import ModelNotFound
from tests.servers import BIN, free_port, run_cli, serving, tracking_uri

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 90


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A tracking server on a free loopback port, stopped by its process group at the end."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    command = [
        str(BIN / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",  # root is absolute: four slashes
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    # MLflow 3 also starts a job runner with seven huey consumers by default, each run leaving
    # a queue folder in /dev/shm; flowrisk uses no server-side jobs
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    uri = f"http://127.0.0.1:{port}"
    with serving(command, f"{uri}/health", root / "server.log", seconds=STARTUP_SECONDS, env=env):
        yield uri, root


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6,000 entities: a few dozen positives in each split (2,000 leave nine held out)."""
    from flowrisk.synth import WorldParams, generate_world

    out = tmp_path_factory.mktemp("server_world")
    generate_world(WorldParams(entities=6_000, seed=8), out)
    return out


def _flowrisk(uri: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli({**os.environ, "FLOWRISK_MLFLOW_URI": uri, "FLOWRISK_HOME": str(home)}, *args)


def _listed(stdout: str) -> dict[str, str]:
    """Version -> aliases cell of the ``flowrisk models list`` table."""
    return dict(re.findall(r"^\W+(\d+)\s+\W\s+(\S+)", stdout, flags=re.MULTILINE))


def test_train_promote_and_load_the_champion_over_http(
    server: tuple[str, Path], world: Path, tmp_path: Path
) -> None:
    import mlflow
    from mlflow import MlflowClient

    from flowrisk.features import Baselines, build_profiles
    from flowrisk.io import read_dataset
    from flowrisk.models.registry import load_model

    uri, root = server
    client = MlflowClient(tracking_uri=uri)
    for seed in ("1", "2"):
        trained = _flowrisk(uri, tmp_path, "train", str(world), "--seed", seed)
        assert trained.returncode == 0, trained.stderr
        assert "Registered flowrisk version" in trained.stdout
    assert any((root / "artifacts").rglob("booster.txt")), "artifacts did not go via the server"
    assert not (tmp_path / "mlflow.db").exists()  # nothing fell back to the local store

    first = _flowrisk(uri, tmp_path, "models", "promote", "1")
    assert first.returncode == 0, first.stderr
    assert client.get_model_version_by_alias("flowrisk", "champion").version == "1"
    challenged = _flowrisk(uri, tmp_path, "models", "promote", "2")  # refused if worse
    if challenged.returncode == 2:
        assert "PR-AUC" in challenged.stderr and "--force" in challenged.stderr
        assert client.get_model_version_by_alias("flowrisk", "champion").version == "1"
    else:
        assert challenged.returncode == 0, challenged.stderr
    forced = _flowrisk(uri, tmp_path, "models", "promote", "2", "--force")
    assert forced.returncode == 0, forced.stderr
    assert client.get_model_version_by_alias("flowrisk", "champion").version == "2"
    listed = _flowrisk(uri, tmp_path, "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert _listed(listed.stdout) == {"2": "champion", "1": "-"}
    compared = _flowrisk(uri, tmp_path, "models", "compare", "1", "champion")
    assert compared.returncode == 0 and "version 2" in compared.stdout, compared.stderr

    run = client.get_run(client.get_model_version("flowrisk", "2").run_id)
    downloads = tmp_path / "pyfunc"
    downloads.mkdir()
    with tracking_uri(uri):
        pyfunc = mlflow.pyfunc.load_model("models:/flowrisk@champion", dst_path=str(downloads))
        scorer = load_model("models:/flowrisk@champion")
        baselines = Baselines.from_dict(
            mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/baselines.json")
        )
        with pytest.raises(ModelNotFound):
            load_model("models:/flowrisk@nope")
    held_out = max(run.data.params["snapshot_dates"].split(","))  # ISO dates sort as strings
    as_of = datetime.fromisoformat(held_out).replace(tzinfo=UTC)
    profiles = build_profiles(read_dataset(world), as_of, baselines).collect()
    got = np.asarray(pyfunc.predict(profiles.select(scorer.features).to_pandas()))
    expected = scorer.predict(profiles)
    assert got.shape == (profiles.height,)
    assert ((got >= 0) & (got <= 1)).all()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    assert pl.Series(expected).n_unique() > 5  # real scores, not a constant
