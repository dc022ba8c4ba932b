"""Training, promotion and loading through a real `mlflow server` on 127.0.0.1, as a team with
a shared tracking server uses flowrisk: artifacts go through the server's HTTP proxy, nothing
falls back to a local store, and promotion refuses a version only when it is significantly worse
on the same held-out entities (unless forced), saying so when the difference is inside the
noise."""

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

from flowrisk.config import Settings
from flowrisk.errors import ModelNotFound
from flowrisk.models.promotion import DECISIVE
from flowrisk.models.registry import Registry
from tests.conftest import TrainedWorld
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


def _flowrisk(uri: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli({**os.environ, "FLOWRISK_MLFLOW_URI": uri, "FLOWRISK_HOME": str(home)}, *args)


def _listed(stdout: str) -> dict[str, str]:
    """Version -> aliases cell of the ``flowrisk models list`` table."""
    return dict(re.findall(r"^\W+(\d+)\s+\W\s+(\S+)", stdout, flags=re.MULTILINE))


def _assert_training_record(uri: str, run_id: str, folder: Path) -> None:
    """What a data scientist reads in MLflow about one training run: a readable name, the
    tags, the three datasets with the dataset's digest, and a validation curve of one point per
    round, all of it inside the run's duration (opened before training, closed after)."""
    from mlflow import MlflowClient

    from flowrisk import __version__
    from flowrisk.features import FEATURE_SET_VERSION
    from flowrisk.io import dataset_digest
    from flowrisk.models.training_run import CURVE_METRIC

    client = MlflowClient(uri)
    run = client.get_run(run_id)
    digest = dataset_digest(folder)
    assert re.fullmatch(rf"train {folder.name} \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d", run.info.run_name)
    tags = run.data.tags
    assert tags["flowrisk.kind"] == "train" and tags["flowrisk.version"] == __version__
    assert tags["flowrisk.dataset_digest"] == digest == run.data.params["dataset_digest"]
    assert tags["flowrisk.feature_set_version"] == FEATURE_SET_VERSION
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", tags["flowrisk.git_commit"])  # a checkout
    inputs = {
        next(t.value for t in i.tags if t.key == "mlflow.data.context"): i
        for i in run.inputs.dataset_inputs
    }
    assert sorted(inputs) == ["test", "training", "validation"]
    for i in inputs.values():
        assert (
            i.dataset.digest
            and {t.key: t.value for t in i.tags}["flowrisk.dataset_digest"] == digest
        )
        assert folder.resolve().as_uri() in i.dataset.source
    curve = client.get_metric_history(run_id, CURVE_METRIC)
    steps = sorted(m.step for m in curve)
    best = int(run.data.params["best_iteration"])
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= best > 0
    assert all(0 < m.value <= 1 for m in curve)
    times = sorted(m.timestamp for m in curve)
    assert run.info.start_time <= times[0] <= times[-1] <= run.info.end_time
    assert run.info.end_time - run.info.start_time > times[-1] - times[0]


def test_train_promote_and_load_the_champion_over_http(
    server: tuple[str, Path], trained_world: TrainedWorld, tmp_path: Path
) -> None:
    import mlflow

    from flowrisk.features import build_profiles
    from flowrisk.models.training_run import train_and_register

    uri, root = server
    registry = Registry.from_settings(Settings(home=tmp_path, mlflow_uri=uri))
    environment = dict(os.environ)
    for seed, expected in ((1, "1"), (2, "2")):
        trained = train_and_register(trained_world.folder, registry=registry, seed=seed)
        assert trained.version == expected
        _assert_training_record(uri, trained.run_id, trained_world.folder)
    assert dict(os.environ) == environment  # no MLFLOW_* variable was set or left behind
    assert any((root / "artifacts").rglob("booster.txt")), "artifacts did not go via the server"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing fell back to a local store

    # the split does not follow the model seed: both versions are scored on the same held-out
    # entities, and compare recomputes each version's logged PR-AUC on them
    compared = registry.compare("1", "2")
    pr_auc = {v: compared["metrics"][v]["pr_auc"] for v in ("1", "2")}
    logged = {row["version"]: row["pr_auc"] for row in registry.list_versions()}
    assert logged == pytest.approx(pr_auc)
    assert pr_auc["1"] != pr_auc["2"], "the seeds must give versions that promotion can order"
    better, worse = sorted(pr_auc, key=lambda v: pr_auc[v], reverse=True)

    assert _flowrisk(uri, tmp_path, "models", "promote", better).returncode == 0
    verdicts = {
        m: d["verdict"]
        for m, d in registry.compare(better, worse, resamples=200)["differences"].items()
        if m in DECISIVE
    }
    tried = _flowrisk(uri, tmp_path, "models", "promote", worse, "--resamples", "200")
    if "worse" in verdicts.values():  # significantly worse: refused, the champion unchanged
        assert tried.returncode == 2, tried.stderr
        assert f"{pr_auc[worse]:.4f}" in tried.stderr and f"{pr_auc[better]:.4f}" in tried.stderr
        assert "significantly worse" in tried.stderr and "--force" in tried.stderr
        assert str(registry.version("champion").version) == better
        forced = _flowrisk(uri, tmp_path, "models", "promote", worse, "--force")
        assert forced.returncode == 0, forced.stderr
    else:  # two seeds of one model on 100-odd positives: a difference inside the noise
        assert tried.returncode == 0, tried.stderr
        assert "inside the noise: PR-AUC" in tried.stdout and "95% CI" in tried.stdout
    assert str(registry.version("champion").version) == worse
    listed = _flowrisk(uri, tmp_path, "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert _listed(listed.stdout) == {worse: "champion", better: "-"}
    assert registry.promote(better, resamples=200).previous == worse  # never refused back

    bundle = registry.load_bundle()
    assert bundle.version == better and registry.run_metrics(better)["pr_auc"] == pr_auc[better]
    with pytest.raises(ModelNotFound):
        registry.load_model("models:/flowrisk@nope")
    downloads = tmp_path / "pyfunc"
    downloads.mkdir()
    with tracking_uri(uri):
        pyfunc = mlflow.pyfunc.load_model("models:/flowrisk@champion", dst_path=str(downloads))
    as_of = datetime.fromisoformat(trained.dates[-1]).replace(tzinfo=UTC)  # the held-out date
    profiles = build_profiles(trained_world.frames, as_of, bundle.baselines).collect()
    got = np.asarray(pyfunc.predict(profiles.select(bundle.model.features).to_pandas()))
    expected_scores = bundle.model.predict(profiles)
    assert got.shape == (profiles.height,)
    assert ((got >= 0) & (got <= 1)).all()
    np.testing.assert_allclose(got, expected_scores, rtol=1e-12, atol=0)
    assert pl.Series(expected_scores).n_unique() > 5  # real scores, not a constant
