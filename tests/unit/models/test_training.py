"""Training core: point-in-time labels, time-and-entity split, LightGBM fit, calibration,
bands, evaluation and the rule-engine baseline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.features import fit_baselines
from flowrisk.io import read_dataset
from flowrisk.models import (
    RiskModel,
    Split,
    band_thresholds,
    evaluate_scores,
    fit_model,
    label_snapshot,
    rule_scores,
    snapshots,
    split_snapshots,
)
from flowrisk.models.dataset import LABEL_GRACE
from flowrisk.models.scorer import probability_text
from flowrisk.schema import BANDS

DATES = [datetime(2025, m, 1, tzinfo=UTC) for m in (7, 9, 11)] + [datetime(2026, 1, 1, tzinfo=UTC)]


@pytest.fixture(scope="module")
def data(world_dir: Path) -> pl.DataFrame:
    frames = {k: v.collect().lazy() for k, v in read_dataset(world_dir).items()}
    labels = pl.read_parquet(world_dir / "labels.parquet")
    return snapshots(frames, labels, DATES, fit_baselines(frames, DATES[0]))


@pytest.fixture(scope="module")
def split(data: pl.DataFrame) -> Split:
    return split_snapshots(data, seed=3)


def test_labels_are_point_in_time() -> None:
    profiles = pl.DataFrame({"entity_id": ["a", "b", "c"]})
    labels = pl.DataFrame(
        {
            "entity_id": ["a", "b", "c"],
            "label": [1, 1, 0],
            "typologies": [["mule"], ["crypto"], []],
            "label_date": [date(2025, 1, 5), date(2025, 3, 1), None],
        }
    )
    out = label_snapshot(profiles, labels, datetime(2025, 2, 1, tzinfo=UTC))
    assert out["label"].to_list() == [1, 0, 0]  # b's scheme starts after the snapshot


def test_labels_end_with_the_scheme_after_a_grace() -> None:
    """An entity whose scheme ended is positive while recent windows still show it, then not;
    one without an end stays positive."""
    profiles = pl.DataFrame({"entity_id": ["a", "b", "c"]})
    labels = pl.DataFrame(
        {
            "entity_id": ["a", "b", "c"],
            "label": [1, 1, 1],
            "typologies": [["fan_in"], ["cycle"], ["mule"]],
            "label_date": [date(2025, 1, 5), date(2025, 1, 5), date(2025, 1, 5)],
            "label_end": [date(2025, 3, 20), date(2025, 1, 31), None],
        }
    )
    as_of = datetime(2025, 4, 1, tzinfo=UTC)
    assert (as_of - LABEL_GRACE).date() <= date(2025, 3, 20)
    out = label_snapshot(profiles, labels, as_of)
    assert out["label"].to_list() == [1, 0, 1]
    later = label_snapshot(profiles, labels, datetime(2025, 6, 1, tzinfo=UTC))
    assert later["label"].to_list() == [0, 0, 1]


def test_split_holds_out_time_and_entities(split: Split) -> None:
    test_ids = set(split.test["entity_id"])
    assert not test_ids & set(split.train["entity_id"])
    assert not test_ids & set(split.valid["entity_id"])
    assert not set(split.train["entity_id"]) & set(split.valid["entity_id"])
    assert split.train["as_of"].max() < split.test["as_of"].min()
    assert split.test["as_of"].n_unique() == 1
    described = split.describe()
    assert all(part["positives"] > 0 for part in described.values())


def test_split_errors(data: pl.DataFrame) -> None:
    with pytest.raises(InvalidParameter, match="two snapshot dates"):
        split_snapshots(data.filter(pl.col("as_of") == DATES[0]))
    with pytest.raises(InvalidParameter, match="only one class"):
        split_snapshots(data.with_columns(pl.lit(0, dtype=pl.Int8).alias("label")))
    with pytest.raises(InvalidParameter, match="shares"):
        split_snapshots(data, test_share=0.7, valid_share=0.5)


@pytest.fixture(scope="module")
def fitted(split: Split) -> tuple[RiskModel, dict[str, Any]]:
    return fit_model(split, seed=7)


def test_model_beats_rules_and_is_calibrated(
    split: Split, fitted: tuple[RiskModel, dict[str, Any]]
) -> None:
    model, facts = fitted
    p = model.predict(split.test)
    assert ((p > 0) & (p < 1)).all()
    ours = evaluate_scores(p, split.test)
    rules = evaluate_scores(rule_scores(split.test), split.test, calibrated=False)
    assert ours["pr_auc"] > rules["pr_auc"]
    assert ours["recall_at_1pct"] >= rules["recall_at_1pct"]
    assert ours["calibration_error"] < 0.05
    assert set(ours["recall_per_typology"]) == {
        t for ts in split.test.filter(pl.col("label") == 1)["typologies"] for t in ts
    }
    assert facts["best_iteration"] > 0
    scored = model.score(split.test)
    assert scored["band"].cast(pl.String).is_in(["low", "medium", "high", "critical"]).all()
    alerted = scored["band"].cast(pl.String).is_in(["high", "critical"]).mean()
    assert 0.002 < alerted < 0.05


def test_the_top_of_the_world_keeps_distinct_scores(
    data: pl.DataFrame, fitted: tuple[RiskModel, dict[str, Any]]
) -> None:
    """Every entity of the 20,000-entity world scored at the last date: the 200 riskiest show
    at least 99% distinct scores (the step-wise calibration gave them one), no probability
    reads 1.000 or 0.000, and a higher score never shows a lower band."""
    model, _ = fitted
    everyone = data.filter(pl.col("as_of") == DATES[-1])
    assert everyone.height == 20_000
    scored = model.score(everyone).sort("score", descending=True)
    top = scored.head(200)["score"]
    assert top.n_unique() >= 0.99 * top.len()
    texts = {probability_text(p) for p in scored["probability"]}
    assert not texts & {"0.000", "1.000"}
    ranks = scored["band"].cast(pl.String).replace_strict({b: i for i, b in enumerate(BANDS)})
    assert (ranks.diff().drop_nulls() <= 0).all()  # scores descending: bands never rise


def test_same_data_and_seed_same_metrics(split: Split) -> None:
    runs = []
    for _ in range(2):
        model, _ = fit_model(split, seed=11)
        runs.append(evaluate_scores(model.predict(split.test), split.test))
    assert runs[0] == runs[1]


def test_too_few_positives_is_refused(split: Split) -> None:
    few = Split(
        train=split.train.filter((pl.col("label") == 0) | (pl.int_range(pl.len()) < 0)),
        valid=split.valid,
        test=split.test,
    )
    with pytest.raises(InvalidParameter, match="positive entities"):
        fit_model(few)


def test_band_thresholds_are_ordered() -> None:
    scores = np.linspace(0, 1, 10_001)
    t = band_thresholds(scores, 0.01)
    assert t["medium"] <= t["high"] <= t["critical"]
    assert np.isclose((scores >= t["high"]).mean(), 0.01, atol=1e-3)
    with pytest.raises(InvalidParameter, match="alert_budget"):
        band_thresholds(scores, 0.5)


def test_evaluation_by_hand() -> None:
    frame = pl.DataFrame(
        {
            "label": [1, 0, 1, 0] + [0] * 196,
            "typologies": [["mule"], [], ["crypto"], []] + [[]] * 196,
        }
    )
    scores = np.r_[[0.9, 0.8, 0.1, 0.7], np.zeros(196)]
    out = evaluate_scores(scores, frame, calibrated=False)
    assert out["positives"] == 2
    assert out["recall_at_1pct"] == 0.5 and out["precision_at_1pct"] == 0.5  # top 2 of 200
    assert out["recall_per_typology"] == {
        "mule": {"positives": 1, "recall_at_1pct": 1.0},
        "crypto": {"positives": 1, "recall_at_1pct": 0.0},
    }


def test_model_beats_raw_sums_baseline(
    world_dir: Path, split: Split, fitted: tuple[RiskModel, dict[str, Any]]
) -> None:
    from flowrisk.models.raw_baseline import raw_sums, raw_sums_scores

    frames = read_dataset(world_dir)
    with_raw = {}
    for name, part in (("train", split.train), ("valid", split.valid), ("test", split.test)):
        pieces = [
            part.filter(pl.col("as_of") == d).join(raw_sums(frames, d), on="entity_id")
            for d in part["as_of"].unique().sort()
        ]
        with_raw[name] = pl.concat(pieces)
    raw = evaluate_scores(
        raw_sums_scores(with_raw["train"], with_raw["valid"], with_raw["test"]),
        with_raw["test"],
        calibrated=False,
    )
    model, _ = fitted
    ours = evaluate_scores(model.predict(split.test), split.test)
    assert raw["rows"] == ours["rows"]
    assert ours["pr_auc"] > raw["pr_auc"]
