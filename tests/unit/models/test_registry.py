"""The model through a real MLflow SQLite store: logged as a pyfunc, registered, promoted by
alias and loaded back, giving the scorer's own probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flowrisk.errors import ModelNotFound
from flowrisk.features import Baselines
from flowrisk.models import RiskModel, Split
from tests.conftest import TrainedWorld


@pytest.fixture(scope="module")
def trained(trained_world: TrainedWorld) -> tuple[RiskModel, Baselines, Split]:
    return trained_world.model, trained_world.baselines, trained_world.split


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
