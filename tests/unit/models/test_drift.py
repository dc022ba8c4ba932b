"""Feature drift: PSI is 0 for identical shares and never negative, a known shift and an empty
bin give the values worked out by hand, bins counted partition by partition add up to the whole
population's, and the reference travels through the model bundle (an old bundle has none)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flowrisk.errors import InvalidParameter, ModelRejected
from flowrisk.features import Baselines
from flowrisk.models.bundle import REFERENCE_FILE, read_model, write_bundle
from flowrisk.models.drift import (
    EPSILON,
    DriftReference,
    bin_counts,
    drift_report,
    fit_reference,
    merge_counts,
    psi,
)
from flowrisk.models.scorer import RiskModel

counts_of = arrays(np.int64, st.integers(2, 12), elements=st.integers(0, 1_000))
values_of = st.lists(
    st.one_of(
        st.none(),
        st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
        st.sampled_from([0.0, 1.0]),
    ),
    min_size=1,
    max_size=200,
)


def _shares(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum() if counts.sum() else np.full(len(counts), 1 / len(counts))


@given(counts_of)
def test_psi_of_identical_shares_is_zero(counts: np.ndarray) -> None:
    shares = _shares(counts)
    assert psi(shares, shares) == 0.0


@given(st.integers(2, 12).flatmap(lambda n: st.tuples(*(st.integers(0, 1_000),) * (2 * n))))
def test_psi_is_never_negative(pairs: tuple[int, ...]) -> None:
    half = len(pairs) // 2
    expected, actual = np.array(pairs[:half]), np.array(pairs[half:])
    assert psi(_shares(expected), _shares(actual)) >= 0.0


def test_a_known_shift_gives_the_value_worked_out_by_hand() -> None:
    # (0.8 - 0.5) ln(0.8 / 0.5) + (0.2 - 0.5) ln(0.2 / 0.5) = 0.3 ln 1.6 + 0.3 ln 2.5
    assert psi(np.array([0.5, 0.5]), np.array([0.8, 0.2])) == pytest.approx(0.4158883, abs=1e-7)
    # a bin empty in the reference counts with EPSILON: -0.5 ln 0.5 + (0.5 - 1e-4) ln(0.5 / 1e-4)
    by_hand = -0.5 * math.log(0.5) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    assert psi(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(4.6043, abs=1e-4)
    with pytest.raises(InvalidParameter, match="bins"):
        psi(np.array([0.5, 0.5]), np.array([1.0]))


def test_the_reference_holds_deciles_and_a_missing_bin() -> None:
    frame = pl.DataFrame({"x": [*map(float, range(1, 101)), *[None] * 10]})
    ref = fit_reference(frame, ["x"]).features["x"]
    np.testing.assert_allclose(ref.edges, np.quantile(np.arange(1, 101), np.arange(1, 10) / 10))
    np.testing.assert_allclose(ref.shares, np.full(11, 10 / 110))  # ten deciles, then missing
    zeros = fit_reference(pl.DataFrame({"n": [0.0] * 80 + [float(v) for v in range(20)]}), ["n"])
    counts = bin_counts(zeros, pl.DataFrame({"n": [0.0, 0.0, 0.0]}))["n"]
    assert counts[0] == 3 and counts.sum() == 3  # a point mass falls into one right-closed bin
    assert zeros.features["n"].shares[0] == pytest.approx(0.81)  # 80 zeros, and the one of 0..19
    with pytest.raises(InvalidParameter, match="training row"):
        fit_reference(frame.clear(), ["x"])


@given(values_of, st.data())
def test_counts_per_partition_add_up_to_the_whole_population(
    values: list[float | None], data: st.DataObject
) -> None:
    reference = fit_reference(pl.DataFrame({"x": values}, schema={"x": pl.Float64}), ["x"])
    cut = data.draw(st.integers(0, len(values)))
    whole = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
    parts = [bin_counts(reference, whole[:cut]), bin_counts(reference, whole[cut:])]
    merged = merge_counts(merge_counts({}, parts[0]), parts[1])
    np.testing.assert_array_equal(merged["x"], bin_counts(reference, whole)["x"])
    assert merged["x"].sum() == len(values)


def test_drift_report_ranks_features_and_names_those_past_the_threshold() -> None:
    rng = np.random.default_rng(0)
    train = pl.DataFrame({"steady": rng.normal(size=4_000), "moved": rng.normal(size=4_000)})
    scored = pl.DataFrame({"steady": rng.normal(size=4_000), "moved": rng.normal(1, 1, 4_000)})
    reference = fit_reference(train, ["steady", "moved"], as_of="2025-12-01")
    same = drift_report(reference, bin_counts(reference, train))
    assert same.status == "computed" and same.max_psi == 0.0 and same.drifting == []
    shifted = drift_report(reference, bin_counts(reference, scored))
    assert shifted.drifting == ["moved"] and list(shifted.psi) == ["moved", "steady"]
    assert shifted.psi["steady"] < 0.02 < 0.25 < shifted.psi["moved"] == shifted.max_psi
    assert shifted.scored_rows == 4_000 and shifted.reference_as_of == "2025-12-01"
    assert shifted.top() == [("moved", shifted.psi["moved"])]
    old = drift_report(None, {})
    assert old.status == "skipped" and old.note and "no training reference" in old.note
    assert drift_report(reference, bin_counts(reference, train.clear())).status == "skipped"


def test_the_reference_round_trips_and_a_bad_one_is_refused() -> None:
    reference = fit_reference(pl.DataFrame({"x": [0.0, 1.0, 2.0, None]}), ["x"], "2025-12-01")
    again = DriftReference.from_dict(reference.to_dict())
    assert again.rows == 4 and again.as_of == "2025-12-01"
    np.testing.assert_array_equal(again.features["x"].shares, reference.features["x"].shares)
    broken = reference.to_dict()
    broken["features"]["x"]["shares"] = [1.0]
    with pytest.raises(InvalidParameter, match=r"drift reference\[x\]"):
        DriftReference.from_dict(broken)


def _tiny_model(reference: DriftReference | None) -> RiskModel:
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 2)), rng.integers(0, 2, 200)
    booster = lgb.train({"verbose": -1, "num_leaves": 4}, lgb.Dataset(x, y), num_boost_round=3)
    return RiskModel(
        booster=booster,
        calibration_x=np.array([-1.0, 1.0]),
        calibration_y=np.array([0.1, 0.9]),
        thresholds={"medium": 50.0, "high": 70.0, "critical": 90.0},
        calibration_bounds=(0.05, 0.95),
        calibration_tails=(1.0, 1.0),
        alert_budget=0.01,
        features=["a", "b"],
        reference=reference,
    )


def test_the_bundle_carries_the_reference_and_an_old_bundle_has_none(tmp_path: Path) -> None:
    profiles = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, None, 1.0, 5.0]})
    reference = fit_reference(profiles, ["a", "b"], "2025-12-01")
    baselines = Baselines(None, pl.DataFrame(schema={"sector_code": pl.String}))
    folder = write_bundle(_tiny_model(reference), baselines, tmp_path / "new")
    loaded = read_model(folder).reference
    assert loaded is not None and loaded.to_dict() == reference.to_dict()
    old = write_bundle(_tiny_model(None), baselines, tmp_path / "old")
    assert not (old / REFERENCE_FILE).exists() and read_model(old).reference is None
    (folder / REFERENCE_FILE).write_text('{"features": {}}', encoding="utf-8")
    with pytest.raises(ModelRejected, match=REFERENCE_FILE):
        read_model(folder)
