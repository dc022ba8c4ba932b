"""Training charts: the data each chart carries, and real PNG files written offline."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
import vl_convert as vlc
from sklearn.metrics import average_precision_score

from flowrisk.errors import InvalidParameter
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
    expected = {
        f"{n} (PR-AUC {average_precision_score(Y, s):.3f})"
        for n, s in [("flowrisk", GOOD), ("rules", BAD)]
    }
    assert models == expected
    assert average_precision_score(Y, GOOD) > 0.5 > average_precision_score(Y, BAD)  # distinct
    assert all(len([r for r in rows if r["model"] == m]) <= 100 for m in models)
    assert all(0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 for r in rows)


def test_calibration_bins_cover_every_entity_finer_at_the_top() -> None:
    p = np.clip(GOOD / 1.1, 0, 1)
    rows = _rows(plots.calibration_curve(Y, p), layer=1)
    assert len(rows) >= 10
    assert sum(r["entities"] for r in rows) == len(p)
    assert rows[0]["entities"] > rows[-1]["entities"]  # top bins are the smallest
    assert [r["predicted"] for r in rows] == sorted(r["predicted"] for r in rows)
    assert np.isclose(sum(r["observed"] * r["entities"] for r in rows), Y.sum())


def test_calibration_bins_survive_tied_probabilities() -> None:
    """Bins are cut by rank: a probability shared by many entities does not merge bins."""
    p = np.where(GOOD > 0.5, 0.9, 0.01)
    rows = _rows(plots.calibration_curve(Y, p), layer=1)
    assert len(rows) == len(plots.QUANTILES) - 1 >= 10


def test_feature_importance_keeps_the_top_features_in_order() -> None:
    rows = _rows(plots.feature_importance(["a", "b", "c", "d"], np.array([1.0, 5.0, 0.0, 4.0]), 2))
    assert [r["feature"] for r in rows] == ["b", "d"]
    assert np.isclose(rows[0]["share"], 0.5)


def _points(chart: object) -> list[dict]:
    """The SHAP summary's rows as Vega-Lite sees them after flattening the per-feature arrays."""
    spec = chart.to_dict()  # type: ignore[attr-defined]
    (flatten,) = [t["flatten"] for t in spec["transform"] if "flatten" in t]
    return [
        {"feature": row["feature"]} | dict(zip(flatten, item, strict=True))
        for row in spec["data"]["values"]
        for item in zip(*(row[f] for f in flatten), strict=True)
    ]


def test_shap_summary_subsamples_and_ranks_values() -> None:
    names = [f"f{i}" for i in range(6)]
    contrib = RNG.normal(size=(500, 6)) * np.array([0.1, 3, 0.2, 2, 0.3, 0.4])
    values = RNG.normal(size=(500, 6))
    values[:10, 1] = np.nan
    chart = plots.shap_summary(names, contrib, values, top=2, max_points=200)
    rows = _points(chart)
    assert [r["feature"] for r in chart.to_dict()["data"]["values"]] == ["f1", "f3"]
    assert chart.to_dict()["encoding"]["y"]["sort"] == ["f1", "f3"]
    assert len(rows) == 2 * 200
    assert set(map(len, chart.to_dict()["data"]["values"][0].values())) == {2, 200}
    ranks = [r["value_rank"] for r in rows if r["value_rank"] is not None]
    assert min(ranks) == 0.0 and max(ranks) == 1.0
    assert all(-0.5 < r["jitter"] < 0.5 for r in rows)
    assert _points(plots.shap_summary(names, contrib, values, top=2, max_points=200)) == rows
    every = _points(plots.shap_summary(names, contrib, values, top=2, max_points=1000))
    assert len(every) == 2 * 500
    assert sum(r["value_rank"] is None for r in every if r["feature"] == "f1") == 10  # grey
    f1 = sorted(r["contribution"] for r in every if r["feature"] == "f1")
    assert np.allclose(f1, np.sort(contrib[:, 1]), atol=1e-4)  # every entity, none altered


def test_shap_summary_draws_missing_values_grey() -> None:
    contrib = RNG.normal(size=(40, 2))
    values = RNG.normal(size=(40, 2))
    values[:7, 0] = np.nan
    svg = vlc.vegalite_to_svg(plots.shap_summary(["a", "b"], contrib, values).to_json())
    marks = re.findall(r'<path[^>]*transform="translate[^>]*>', svg)
    assert len(marks) == 80  # no point dropped for its missing value
    assert sum(f'fill="{plots.MISSING}"' in m for m in marks) == 7


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
    labels = chart.to_dict()["layer"][1]
    assert labels["mark"]["type"] == "text"  # zero recalls carry a "0.00" label
    assert labels["encoding"]["text"] == {
        "field": "recall",
        "format": ".2f",
        "type": "quantitative",
    }
    assert labels["encoding"]["color"]["field"] == "model"  # which model the label belongs to


def test_write_charts_renders_png(tmp_path: Path) -> None:
    charts = {"pr": plots.pr_curve({"flowrisk": (Y, GOOD)})}
    (path,) = plots.write_charts(charts, tmp_path)
    head = path.read_bytes()[:24]
    assert head[:4] == b"\x89PNG"
    width, height = struct.unpack(">II", head[16:24])
    assert width > 600 and height > 300


def test_write_charts_writes_svg_and_refuses_unknown_formats(tmp_path: Path) -> None:
    charts = {"importance": plots.feature_importance(["a", "b"], np.array([1.0, 2.0]))}
    paths = plots.write_charts(charts, tmp_path / "plots", formats=("png", "svg"))
    assert [p.name for p in paths] == ["importance.png", "importance.svg"]
    assert paths[1].read_text().startswith("<svg")
    with pytest.raises(InvalidParameter, match="pdf"):
        plots.write_charts(charts, tmp_path / "other", formats=("png", "pdf"))
    assert not (tmp_path / "other").exists()  # nothing written before refusing
