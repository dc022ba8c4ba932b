"""The model card renders every model's metrics and names the typologies a model misses."""

from __future__ import annotations

from flowrisk.models.bands import band_shares
from flowrisk.models.card import model_card


def _metrics(pr_auc: float, recall: dict[str, float]) -> dict:
    return {
        "pr_auc": pr_auc,
        "roc_auc": 0.9,
        "recall_at_0.5pct": 0.1,
        "recall_at_1pct": 0.2,
        "recall_at_2pct": 0.3,
        "precision_at_1pct": 0.8,
        "brier": 0.01,
        "calibration_error": 0.002,
        "recall_per_typology": {
            t: {"positives": 10, "recall_at_1pct": r} for t, r in recall.items()
        },
    }


def test_card_tables_and_weaknesses() -> None:
    card = model_card(
        version="3",
        run_id="abc",
        metrics={
            "flowrisk": _metrics(0.912, {"mule": 0.5, "crypto": 0.0}),
            "rules": _metrics(0.301, {"mule": 0.1}),
        },
        split={"train": {"rows": 10, "entities": 5, "positives": 2}},
        dates=["2025-01-01", "2025-03-01"],
        params={"num_leaves": 31},
        top_features=[("cash_deposit_sum_30d", 0.25)],
        dataset="data/world",
        dataset_digest="ff00",
        feature_set="v1 1.0.0",
    )
    assert card.startswith("# flowrisk model, version 3")
    assert "| flowrisk | 0.912 |" in card and "| rules | 0.301 |" in card
    assert "| crypto | 10 | 0.00 | 0.00 |" in card  # absent from the rules' typologies: 0
    assert "| mule | 10 | 0.50 | 0.10 |" in card
    assert "finds no held-out entity of: crypto" in card
    assert "1. `cash_deposit_sum_30d` (25.0% of gain)" in card
    assert "num_leaves=31" in card and "ff00" in card


def test_card_reports_the_recall_ceiling_at_each_budget() -> None:
    ours = _metrics(0.95, {"mule": 0.5}) | {
        "rows": 4_900,
        "positives": 130,
        "recall_ceiling_at_0.5pct": 25 / 130,
        "recall_ceiling_at_1pct": 49 / 130,
        "recall_ceiling_at_2pct": 98 / 130,
    }
    card = model_card(
        version="4",
        run_id="abc",
        metrics={"flowrisk": ours, "rules": _metrics(0.3, {"mule": 0.1})},
        split={"test": {"rows": 4_900, "entities": 4_900, "positives": 130}},
        dates=["2025-03-01"],
        params={},
        top_features=[],
        dataset="data/world",
        dataset_digest=None,
        feature_set="v1 1.0.0",
    )
    assert "| *ceiling (prevalence)* |  |  | *0.192* | *0.377* | *0.754* |  |" in card
    assert "130 positives among 4,900 test rows: 0.192 at 0.5%, 0.377 at 1%, 0.754 at 2%" in card
    older = model_card(  # metrics logged before ceilings were: no ceiling row, no sentence
        version="1",
        run_id="abc",
        metrics={"flowrisk": _metrics(0.9, {})},
        split={},
        dates=[],
        params={},
        top_features=[],
        dataset="d",
        dataset_digest=None,
        feature_set="v1",
    )
    assert "ceiling (prevalence)" not in older and "The ceiling row is" not in older


def test_card_reports_band_shares_against_the_budget() -> None:
    metrics = {"flowrisk": _metrics(0.9, {"mule": 0.5})}
    common = {
        "version": "4",
        "run_id": "r",
        "metrics": metrics,
        "split": {"test": {"rows": 10_000, "entities": 10_000, "positives": 100}},
        "dates": ["2025-12-01"],
        "params": {},
        "top_features": [],
        "dataset": "d",
        "dataset_digest": None,
        "feature_set": "v1 1.0.0",
        "thresholds": {"medium": 40.125, "high": 61.5, "critical": 77.25},
        "alert_budget": 0.01,
    }
    steady = {"low": 9_500, "medium": 400, "high": 75, "critical": 25}
    card = model_card(**common, bands=band_shares(steady, 0.01))
    assert "### Bands against the alert budget" in card
    assert "| critical | 77.25000 | 0.25% | 0.25% (25) | yes |" in card
    assert "| low | 0.00000 | 95.00% | 95.00% (9,500) | yes |" in card
    assert "more than 50% of its target away" in card and "Warning" not in card
    drifted = {"low": 9_400, "medium": 400, "high": 150, "critical": 50}
    card = model_card(**common, bands=band_shares(drifted, 0.01))
    assert "| high | 61.50000 | 0.75% | 1.50% (150) | no |" in card
    assert "Warning on held-out data: band shares drifted beyond 50%" in card
    assert "error 0.0020 (ten equal-width probability bins" in " ".join(card.split())
