"""Training, promotion and loading through a real `mlflow server` on 127.0.0.1, as a team with
a shared tracking server uses flowrisk: artifacts go through the server's HTTP proxy."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flowrisk.errors import ModelNotFound
from tests.servers import free_port, serving

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 120


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A tracking server on a free loopback port, stopped by its process group at the end."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    uri = f"http://127.0.0.1:{port}"
    with serving(command, f"{uri}/health", root / "server.log", seconds=STARTUP_SECONDS):
        yield uri, root


def _flowrisk(uri: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWRISK_MLFLOW_URI": uri, "FLOWRISK_HOME": str(home)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "flowrisk"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flowrisk.synth import WorldParams, generate_world

    out = tmp_path_factory.mktemp("server_world")
    generate_world(WorldParams(entities=6_000, seed=8), out)
    return out


def test_train_promote_and_load_the_champion_over_http(
    server: tuple[str, Path], world: Path, tmp_path: Path
) -> None:
    import mlflow
    from mlflow import MlflowClient

    from flowrisk.features import Baselines, build_profiles
    from flowrisk.io import read_dataset
    from flowrisk.models.registry import load_model

    uri, root = server
    for seed in ("1", "2"):
        trained = _flowrisk(uri, tmp_path, "train", str(world), "--seed", seed)
        assert trained.returncode == 0, trained.stderr
        assert "Registered flowrisk version" in trained.stdout
    listed = _flowrisk(uri, tmp_path, "models", "list")
    assert listed.returncode == 0 and "1" in listed.stdout and "2" in listed.stdout
    assert _flowrisk(uri, tmp_path, "models", "promote", "1").returncode == 0
    forced = _flowrisk(uri, tmp_path, "models", "promote", "2", "--force")
    assert forced.returncode == 0, forced.stderr
    compared = _flowrisk(uri, tmp_path, "models", "compare", "1", "champion")
    assert compared.returncode == 0 and "version 2" in compared.stdout
    assert any((root / "artifacts").rglob("booster.txt")), "artifacts did not go via the server"
    assert not (tmp_path / "mlflow.db").exists()  # nothing fell back to the local store

    previous = mlflow.get_tracking_uri()
    try:
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(tracking_uri=uri)
        assert client.get_model_version_by_alias("flowrisk", "champion").version == "2"
        pyfunc = mlflow.pyfunc.load_model("models:/flowrisk@champion")
        scorer = load_model("models:/flowrisk@champion")
        run = client.get_run(client.get_model_version("flowrisk", "2").run_id)
        baselines = Baselines.from_dict(
            mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/baselines.json")
        )
        as_of = max(run.data.params["snapshot_dates"].split(","))
        from datetime import UTC, datetime

        when = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
        profiles = build_profiles(read_dataset(world), when, baselines).collect()
        got = np.asarray(pyfunc.predict(profiles.select(scorer.features).to_pandas()))
        expected = scorer.predict(profiles)
        assert ((got >= 0) & (got <= 1)).all()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
        assert pl.Series(expected).n_unique() > 5  # real scores, not a constant
        with pytest.raises(ModelNotFound):
            load_model("models:/flowrisk@nope")
    finally:
        mlflow.set_tracking_uri(previous)
