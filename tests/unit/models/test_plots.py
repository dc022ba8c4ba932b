"""Training charts: the data each chart carries, and real PNG files written offline."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from flowrisk.models import plots

RNG = np.random.default_rng(4)
Y = (RNG.random(3000) < 0.05).astype(int)
GOOD = Y * 0.5 + RNG.random(3000) * 0.6
BAD = RNG.random(3000)


def _rows(chart: object, layer: int | None = None) -> list[dict]:
    spec = chart.to_dict()  # type: ignore[attr-defined]
    if layer is not None and "data" in spec["layer"][layer]:
        spec = spec["layer"][layer]
    return spec["data"]["values"]


def test_pr_curve_names_models_with_their_pr_auc() -> None:
    rows = _rows(plots.pr_curve({"flowrisk": (Y, GOOD), "rules": (Y, BAD)}, points=100))
    models = {r["model"] for r in rows}
    assert len(models) == 2
    assert any(m.startswith("flowrisk (PR-AUC 0.") for m in models)
    assert all(len([r for r in rows if r["model"] == m]) <= 100 for m in models)
    assert all(0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 for r in rows)


def test_calibration_bins_cover_every_entity_finer_at_the_top() -> None:
    p = np.clip(GOOD / 1.1, 0, 1)
    rows = _rows(plots.calibration_curve(Y, p), layer=1)
    assert sum(r["entities"] for r in rows) == len(p)
    assert rows[0]["entities"] > rows[-1]["entities"]  # top bins are the smallest
    assert [r["predicted"] for r in rows] == sorted(r["predicted"] for r in rows)
    assert np.isclose(sum(r["observed"] * r["entities"] for r in rows), Y.sum())


def test_feature_importance_keeps_the_top_features_in_order() -> None:
    rows = _rows(plots.feature_importance(["a", "b", "c", "d"], np.array([1.0, 5.0, 0.0, 4.0]), 2))
    assert [r["feature"] for r in rows] == ["b", "d"]
    assert np.isclose(rows[0]["share"], 0.5)


def test_shap_summary_subsamples_and_ranks_values() -> None:
    names = [f"f{i}" for i in range(6)]
    contrib = RNG.normal(size=(500, 6)) * np.array([0.1, 3, 0.2, 2, 0.3, 0.4])
    values = RNG.normal(size=(500, 6))
    values[:10, 1] = np.nan
    rows = _rows(plots.shap_summary(names, contrib, values, top=2, max_points=200))
    assert {r["feature"] for r in rows} == {"f1", "f3"}
    assert len(rows) == 2 * 200
    ranks = [r["value_rank"] for r in rows if r["value_rank"] is not None]
    assert min(ranks) == 0.0 and max(ranks) == 1.0
    every = _rows(plots.shap_summary(names, contrib, values, top=2, max_points=1000))
    assert len(every) == 2 * 500
    assert sum(r["value_rank"] is None for r in every if r["feature"] == "f1") == 10  # grey


def test_recall_per_typology_shows_zero_recall() -> None:
    chart = plots.recall_per_typology(
        {
            "flowrisk": {"mule": {"positives": 9, "recall_at_1pct": 0.5}},
            "rules": {"crypto": {"positives": 4, "recall_at_1pct": 0.0}},
        }
    )
    rows = _rows(chart, layer=0)
    assert len(rows) == 4  # every model x every typology, absent ones at 0
    crypto = [r for r in rows if r["typology"] == "crypto (4)"]
    assert {r["recall"] for r in crypto} == {0.0}
    assert "text" in str(chart.to_dict())  # zero recalls carry a label


def test_write_charts_renders_png(tmp_path: Path) -> None:
    charts = {"pr": plots.pr_curve({"flowrisk": (Y, GOOD)})}
    (path,) = plots.write_charts(charts, tmp_path)
    head = path.read_bytes()[:24]
    assert head[:4] == b"\x89PNG"
    width, height = struct.unpack(">II", head[16:24])
    assert width > 600 and height > 300
