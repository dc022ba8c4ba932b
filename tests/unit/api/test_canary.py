"""The canary a model passes before it serves: the session's trained model passes; each way a
version can be broken (an unknown feature, a NaN calibration, missing bands, a booster that
disagrees with its feature list, a held-out sample that does not score) is refused with
``ModelRejected`` naming the check that failed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from flowrisk.api.canary import CANARY_AS_OF, canary_request, check_model, failure_reason
from flowrisk.api.service import payload_frames
from flowrisk.errors import ModelNotFound, ModelRejected
from flowrisk.models.bundle import SAMPLE_ROWS, Bundle, heldout_sample
from flowrisk.models.registry import Registry, model_uri
from flowrisk.models.registry_fake import FakeMlflowClient
from flowrisk.models.scorer import RiskModel
from flowrisk.models.scoring import Loaded, score_frames
from tests.conftest import TrainedWorld

Breakage = Callable[[Bundle], Bundle]


@pytest.fixture(scope="module")
def bundle(trained_world: TrainedWorld) -> Bundle:
    t = trained_world
    return Bundle(
        model=t.model,
        baselines=t.baselines,
        uri="models:/flowrisk/1",
        version="1",
        sample=heldout_sample(t.split.test, t.model.features),
    )


def _loaded(bundle: Bundle) -> Loaded:
    return Loaded(bundle=bundle, loaded_at=datetime.now(UTC), metrics={})


def _model(change: Callable[[RiskModel], RiskModel]) -> Breakage:
    return lambda b: replace(b, model=change(b.model))


def test_the_trained_model_passes(bundle: Bundle) -> None:
    check_model(_loaded(bundle))
    check_model(_loaded(replace(bundle, sample=None)))  # a bundle registered without a sample


def test_the_canary_payload_is_a_valid_request_in_the_past() -> None:
    request = canary_request()
    assert request.as_of == CANARY_AS_OF < datetime.now(UTC)
    assert all(t.ts < request.as_of for t in request.transactions)
    frames = payload_frames(request)
    assert frames["transactions"].collect().height == len(request.transactions) > 0


def test_the_sample_is_small_spread_and_holds_the_features(
    trained_world: TrainedWorld, bundle: Bundle
) -> None:
    sample = bundle.sample
    assert sample is not None
    test = trained_world.split.test
    assert 0 < sample.height <= min(SAMPLE_ROWS, test.height)
    assert sample.columns == ["entity_id", *trained_world.model.features]
    # evenly spaced: the last rows of the split are represented too
    assert sample["entity_id"][-1] in set(test["entity_id"][-2 * test.height // SAMPLE_ROWS :])


def _sample(bundle: Bundle) -> pl.DataFrame:
    assert bundle.sample is not None
    return bundle.sample


BROKEN: dict[str, tuple[Breakage, str]] = {
    "unknown feature": (
        _model(lambda m: replace(m, features=[*m.features[:-1], "x"])),
        "unknown feature 'x' in the model",
    ),
    "NaN calibration": (
        _model(lambda m: replace(m, calibration_y=np.full_like(m.calibration_y, np.nan))),
        "calibration gives NaN",
    ),
    "a band without a threshold": (
        _model(lambda m: replace(m, thresholds={"medium": 0.1})),
        "the band threshold of 'high' is None",
    ),
    "a NaN threshold": (
        _model(lambda m: replace(m, thresholds={**m.thresholds, "critical": float("nan")})),
        "the band threshold of 'critical'",
    ),
    "a feature list shorter than the booster's": (
        _model(lambda m: replace(m, features=m.features[:-1])),
        "features, the model lists",
    ),
    "features in another order than the booster's": (
        _model(lambda m: replace(m, features=[*m.features[1:], m.features[0]])),
        "the booster's feature 0 is",
    ),
    "calibration knots out of order": (
        _model(lambda m: replace(m, calibration_x=m.calibration_x[::-1].copy())),
        "the calibration's raw scores are not finite and strictly increasing",
    ),
    "calibrated probabilities above 1": (
        _model(lambda m: replace(m, calibration_y=m.calibration_y * 3)),
        "the calibration gives probabilities outside (0, 1)",
    ),
    "a calibration reaching 1 (the step-wise kind)": (
        _model(lambda m: replace(m, calibration_y=np.append(m.calibration_y[:-1], 1.0))),
        "the calibration gives probabilities outside (0, 1)",
    ),
    "a flat step in the calibration": (
        _model(
            lambda m: replace(m, calibration_y=np.append(m.calibration_y[:-1], m.calibration_y[-2]))
        ),
        "the calibration's probabilities are not strictly increasing",
    ),
    "a ceiling of 1": (
        _model(lambda m: replace(m, calibration_bounds=(m.calibration_bounds[0], 1.0))),
        "do not enclose its knots strictly inside (0, 1)",
    ),
    "a floor above the lowest knot": (
        _model(lambda m: replace(m, calibration_bounds=(0.5, m.calibration_bounds[1]))),
        "do not enclose its knots strictly inside (0, 1)",
    ),
    "a tail scale of zero": (
        _model(lambda m: replace(m, calibration_tails=(m.calibration_tails[0], 0.0))),
        "tail scales",
    ),
    "a band threshold off the 0-100 score (a raw-score threshold would not be)": (
        _model(lambda m: replace(m, thresholds={**m.thresholds, "critical": 150.0})),
        "the band threshold of 'critical' is 150.0, not a 0-100 score",
    ),
    "no calibration": (
        _model(lambda m: replace(m, calibration_x=np.array([]), calibration_y=np.array([]))),
        "the calibration has 0 raw and 0 calibrated knots",
    ),
    "band thresholds out of order": (
        _model(lambda m: replace(m, thresholds={"medium": 50.0, "high": 40.0, "critical": 90.0})),
        "the band threshold of 'high' is below the band before it",
    ),
    "a feature listed twice": (
        _model(lambda m: replace(m, features=[*m.features[:-1], m.features[0]])),
        "a feature appears twice",
    ),
    "a sample without a feature": (
        lambda b: replace(b, sample=_sample(b).drop(b.model.features[3])),
        "the held-out sample lacks feature",
    ),
    "an empty sample": (
        lambda b: replace(b, sample=_sample(b).clear()),
        "the held-out sample is empty",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_version_is_rejected_naming_the_check(bundle: Bundle, case: str) -> None:
    breakage, message = BROKEN[case]
    with pytest.raises(ModelRejected, match=re.escape(message)):
        check_model(_loaded(breakage(bundle)))


class _NaNAbove:
    """A booster that gives NaN above a raw score (as a booster file with NaN leaf values
    would on the profiles reaching those leaves), and delegates everything else."""

    def __init__(self, inner: Any, cut: float) -> None:
        self.inner, self.cut = inner, cut

    def predict(self, x: Any, **options: Any) -> Any:
        out = self.inner.predict(x, **options)
        if options.get("pred_contrib"):
            return out
        return np.where(out > self.cut, np.nan, out)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_booster_failing_only_on_some_profiles_is_caught_by_the_sample(
    bundle: Bundle,
) -> None:
    """The canary payload is one entity: a booster that gives NaN only above its raw score
    passes it, and the held-out sample (which meets every band) catches it."""
    model = bundle.model
    request = canary_request()
    row = score_frames(
        payload_frames(request), request.entity.entity_id, request.as_of, _loaded(bundle), True
    )
    assert bundle.sample is not None
    raws = model.raw(bundle.sample)
    canary_raw = float(1 / (1 + np.exp(-row["raw_log_odds"])))  # the booster's probability
    cut = max(canary_raw, float(np.quantile(raws, 0.5))) + 1e-9
    assert (raws > cut).any()
    broken = replace(model, booster=_NaNAbove(model.booster, cut))
    check_model(_loaded(replace(bundle, model=broken, sample=None)))  # the payload alone: passes
    with pytest.raises(
        ModelRejected, match=r"the booster gives NaN on \d+ of \d+ held-out profiles"
    ):
        check_model(_loaded(replace(bundle, model=broken)))


def test_an_unreadable_booster_is_rejected(bundle: Bundle) -> None:
    class Broken:
        def num_feature(self) -> int:
            raise KeyError("tree_info")

    with pytest.raises(ModelRejected, match="the booster cannot be read: KeyError: 'tree_info'"):
        check_model(_loaded(replace(bundle, model=replace(bundle.model, booster=Broken()))))


def test_failure_reasons_are_one_bounded_line() -> None:
    assert failure_reason(ModelNotFound("no alias 'x'")) == "no alias 'x'"
    assert failure_reason(KeyError("calibration_x")) == "KeyError: 'calibration_x'"
    assert failure_reason(ValueError("first\nsecond")) == "ValueError: first"
    assert failure_reason(RuntimeError()) == "RuntimeError"
    assert len(failure_reason(ValueError("x" * 1_000))) == 300


def test_a_version_whose_bundle_has_no_sample_gets_its_runs_held_out_profiles(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    """Versions registered before bundles carried a sample: the registry takes one from the
    held-out profiles logged with the version's run (and none when the run has none)."""
    t = trained_world
    fake = FakeMlflowClient(tmp_path)
    with_run = fake.add_version(t.model, t.baselines, heldout=t.split.test)
    without = fake.add_version(t.model, t.baselines)
    registry = Registry("fake://store", client=fake)
    sample = registry.load_bundle(model_uri(version=with_run)).sample
    assert sample is not None
    assert sample.equals(heldout_sample(t.split.test, t.model.features))
    assert registry.load_bundle(model_uri(version=without)).sample is None
    check_model(_loaded(registry.load_bundle(model_uri(version=with_run))))
