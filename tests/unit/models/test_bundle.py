"""Bundles and their calibration: a bundle written today reads back scoring the same; one
calibrated the step-wise way of earlier versions (or by an unknown method) is refused with the
reason and what to do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from flowrisk.errors import ModelRejected
from flowrisk.models.bundle import read_model, write_bundle
from tests.conftest import TrainedWorld


def test_a_bundle_reads_back_scoring_the_same(trained_world: TrainedWorld, tmp_path: Path) -> None:
    t = trained_world
    folder = write_bundle(t.model, t.baselines, tmp_path / "bundle")
    back = read_model(folder)
    assert back.calibration_bounds == t.model.calibration_bounds
    assert back.calibration_tails == t.model.calibration_tails
    assert back.alert_budget == t.model.alert_budget and back.thresholds == t.model.thresholds
    test = t.split.test.head(300)
    assert back.score(test).equals(t.model.score(test))


def _rewrite(folder: Path, change: dict[str, object], drop: tuple[str, ...] = ()) -> None:
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    meta.update(change)
    for key in drop:
        meta.pop(key)
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")


def test_a_step_wise_bundle_is_refused_with_the_reason(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    """What earlier versions wrote: isotonic step knots reaching 1, raw-score thresholds, no
    bounds and no method."""
    t = trained_world
    folder = write_bundle(t.model, t.baselines, tmp_path / "old")
    old = {"calibration_y": np.r_[0.0, 0.0, 0.5, 1.0, 1.0].tolist()}
    _rewrite(folder, old, drop=("calibration", "calibration_bounds", "calibration_tails"))
    with pytest.raises(ModelRejected, match=r"step-wise isotonic calibration .* train the model"):
        read_model(folder)


def test_an_unknown_calibration_is_refused(trained_world: TrainedWorld, tmp_path: Path) -> None:
    t = trained_world
    folder = write_bundle(t.model, t.baselines, tmp_path / "other")
    _rewrite(folder, {"calibration": "platt-9"})
    with pytest.raises(ModelRejected, match="unknown calibration 'platt-9'"):
        read_model(folder)
