"""The model through a real MLflow SQLite store: logged as a pyfunc, registered, promoted by
alias and loaded back, giving the scorer's own probabilities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flowrisk.errors import ModelNotFound
from flowrisk.features import Baselines, fit_baselines
from flowrisk.io import read_dataset
from flowrisk.models import RiskModel, Split, fit_model, snapshots, split_snapshots
from flowrisk.synth import WorldParams, generate_world

DATES = [datetime(2025, m, 1, tzinfo=UTC) for m in (8, 10, 12)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[RiskModel, Baselines, Split]:
    folder = tmp_path_factory.mktemp("world")
    generate_world(WorldParams(entities=6_000, seed=8), folder)
    frames = read_dataset(folder)
    baselines = fit_baselines(frames, DATES[0])
    data = snapshots(frames, pl.read_parquet(folder / "labels.parquet"), DATES, baselines)
    split = split_snapshots(data, seed=1)
    model, _ = fit_model(split, seed=2)
    return model, baselines, split


def test_log_register_promote_load(
    trained: tuple[RiskModel, Baselines, Split], tmp_path: Path
) -> None:
    import mlflow

    from flowrisk.models.registry import (
        load_model,
        log_model,
        model_uri,
        set_alias,
        setup_tracking,
    )

    model, baselines, split = trained
    setup_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "flowrisk-test", tmp_path / "art")
    with mlflow.start_run():
        version = log_model(model, baselines, split.test.to_pandas())
    assert version == "1"
    with pytest.raises(ModelNotFound):
        load_model(model_uri())  # no champion yet
    set_alias(version)
    expected = model.predict(split.test)
    pyfunc = mlflow.pyfunc.load_model(model_uri())
    got = np.asarray(pyfunc.predict(split.test.select(model.features).to_pandas()))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert ((got >= 0) & (got <= 1)).all()
    again = load_model(model_uri(version=version))
    np.testing.assert_allclose(again.predict(split.test), expected, atol=1e-12)
    assert again.thresholds == model.thresholds
    with pytest.raises(ModelNotFound, match="version 7"):
        set_alias("7")
