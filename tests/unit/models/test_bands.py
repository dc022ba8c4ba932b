"""Band shares against the alert budget: the targets the budget sets, drift beyond the stated
relative tolerance, and the warning that names the drifted bands."""

from __future__ import annotations

import pytest

from flowrisk.models.bands import SHARE_TOLERANCE, band_shares, band_targets, drift_warning
from flowrisk.schema import BANDS


def test_the_targets_cover_everyone_and_alerts_are_the_budget() -> None:
    targets = band_targets(0.01)
    assert list(targets) == list(BANDS)
    assert sum(targets.values()) == pytest.approx(1.0)
    assert targets["high"] + targets["critical"] == pytest.approx(0.01)
    assert targets["medium"] + targets["high"] + targets["critical"] == pytest.approx(0.05)


def test_a_population_on_target_does_not_warn() -> None:
    counts = {"low": 9_500, "medium": 400, "high": 75, "critical": 25}
    shares = band_shares(counts, 0.01)
    assert [s.band for s in shares] == list(BANDS)
    assert [s.entities for s in shares] == [9_500, 400, 75, 25]
    assert not any(s.drifted for s in shares)
    assert drift_warning(shares) is None


def test_a_band_beyond_the_tolerance_warns_by_name() -> None:
    assert SHARE_TOLERANCE == 0.5
    # critical at 0.25% of 10,000 is 25 entities: 37 is within 50% of it, 38 is not
    within = band_shares({"low": 9_488, "medium": 400, "high": 75, "critical": 37}, 0.01)
    assert not within[-1].drifted
    beyond = band_shares({"low": 9_487, "medium": 400, "high": 75, "critical": 38}, 0.01)
    assert [s.band for s in beyond if s.drifted] == ["critical"]
    warning = drift_warning(beyond)
    assert warning is not None
    assert "beyond 50% of their targets" in warning and "critical 0.38% (target 0.25%)" in warning


def test_an_empty_population_has_no_shares() -> None:
    shares = band_shares({}, 0.01)
    assert all(s.entities == 0 and s.share == 0.0 for s in shares)
