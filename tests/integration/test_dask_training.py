"""Training on a Dask cluster (two worker processes on 127.0.0.1): snapshots built on the
workers, LightGBM fitted there by ``lightgbm.dask`` (the limit set to 0 so that this small
matrix counts as too large), and the model registered, loaded and scored like a local one."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrisk.config import Settings
from flowrisk.errors import InvalidParameter
from flowrisk.models.registry import Registry
from flowrisk.models.training_run import train_and_register
from tests.conftest import TrainedWorld

pytestmark = pytest.mark.slow


def test_train_on_dask_registers_a_model_that_scores_sensibly(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    from distributed import LocalCluster
    from mlflow import MlflowClient

    registry = Registry.from_settings(Settings(home=tmp_path))
    steps: list[str] = []
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        processes=True,  # LightGBM's network is one per process
    ) as cluster:
        result = train_and_register(
            trained_world.folder,
            registry=registry,
            engine="dask",
            scheduler=cluster.scheduler_address,
            fit_above=0,
            step=steps.append,
        )
    assert "training LightGBM on the Dask cluster" in steps
    run = MlflowClient(registry.tracking_uri).get_run(result.run_id)
    assert run.data.params["fitted_on"] == "dask"
    assert 0 < int(run.data.params["best_iteration"]) < 600
    metrics = result.metrics
    assert metrics["flowrisk"]["pr_auc"] > max(metrics["rules"]["pr_auc"], 0.3)
    assert metrics["flowrisk"]["roc_auc"] > 0.85
    bundle = registry.load_bundle(f"models:/flowrisk/{result.version}")
    test = trained_world.split.test
    scored = bundle.model.score(test)
    assert scored.height == test.height
    assert scored["probability"].is_between(0, 1, closed="none").all()
    positives = scored.filter(test["label"] == 1)["probability"].mean()
    negatives = scored.filter(test["label"] == 0)["probability"].mean()
    assert positives > 5 * negatives


def test_dask_training_needs_a_scheduler(trained_world: TrainedWorld, tmp_path: Path) -> None:
    registry = Registry.from_settings(Settings(home=tmp_path))
    with pytest.raises(InvalidParameter, match="scheduler"):
        train_and_register(trained_world.folder, registry=registry, engine="dask")
    with pytest.raises(InvalidParameter, match=r"no Dask scheduler at tcp://127.0.0.1:9"):
        train_and_register(
            trained_world.folder, registry=registry, engine="dask", scheduler="tcp://127.0.0.1:9"
        )
