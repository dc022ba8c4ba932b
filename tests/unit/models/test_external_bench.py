"""The benchmark's pieces that need no Snap ML run: the raw per-entity aggregates, recall at the
alert budget, the refusal of datasets that cannot be split, and the Markdown report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.models.bench_report import benchmark_markdown
from flowrisk.models.evaluate import evaluate_scores
from flowrisk.models.external_bench import compare_on_dataset, recall_at_budget
from flowrisk.models.raw_baseline import raw_aggregates

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)


def _frames() -> dict[str, pl.LazyFrame]:
    day = timedelta(days=1)
    rows = [  # (src, dst, amount, days before AS_OF)
        ("a1", "x", 100.0, 10),
        ("a2", "y", 300.0, 5),
        ("a1", "x", 200.0, 3),
        ("x", "a1", 50.0, 20),
        (None, "a2", 70.0, 2),  # cash paid in: no counterparty account
        ("a1", "y", 9_999.0, 0),  # on the profile date: not before it
        ("b1", "x", 10.0, 400),  # more than a year before
    ]
    tx = pl.DataFrame(
        {
            "txn_id": list(range(len(rows))),
            "src_account_id": [r[0] for r in rows],
            "dst_account_id": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "ts": [AS_OF - r[3] * day for r in rows],
        }
    )
    accounts = pl.DataFrame(
        {"account_id": ["a1", "a2", "b1", "x", "y"], "entity_id": ["A", "A", "B", None, None]}
    )
    entities = pl.DataFrame({"entity_id": ["A", "B", "C"]})
    return {"transactions": tx.lazy(), "accounts": accounts.lazy(), "entities": entities.lazy()}


def test_raw_aggregates_per_entity_over_its_accounts_before_the_date() -> None:
    agg = raw_aggregates(_frames(), AS_OF).sort("entity_id")
    a = agg.row(0, named=True)
    assert a["agg_out_count"] == 3 and a["agg_out_sum"] == 600.0 and a["agg_out_max"] == 300.0
    assert a["agg_out_mean"] == 200.0
    assert a["agg_out_std"] == pytest.approx(np.std([100, 300, 200], ddof=1))
    assert a["agg_out_counterparties"] == 2  # x and y
    assert a["agg_in_count"] == 2 and a["agg_in_sum"] == 120.0
    assert a["agg_in_counterparties"] == 1  # cash has no counterparty account
    assert a["agg_active_span_days"] == pytest.approx(18.0)  # 20 days before to 2 days before
    for entity in ("B", "C"):  # B's only transaction is older than a year; C has none
        row = agg.filter(pl.col("entity_id") == entity).drop("entity_id").row(0)
        assert all(v == 0 for v in row)
    assert [c for c in agg.columns if c != "entity_id"] == [
        c for c in agg.columns if c.startswith("agg_")
    ]


def test_recall_at_budget_is_the_evaluation_s() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(1_000) < 0.05).astype(int)
    scores = y * 0.3 + rng.random(1_000)
    data = pl.DataFrame({"label": y, "typologies": [[] for _ in y]})
    expected = evaluate_scores(scores, data, calibrated=False)["recall_at_1pct"]
    assert recall_at_budget(y, scores) == expected


def test_an_unlabelled_dataset_is_refused_by_name() -> None:
    labels = pl.DataFrame(schema={"entity_id": pl.String, "label": pl.Int8})
    with pytest.raises(InvalidParameter, match="no labelled entities") as err:
        compare_on_dataset(_frames(), labels)
    assert err.value.name == "labels"


def test_too_few_positives_for_a_split_are_refused_by_name() -> None:
    labels = pl.DataFrame({"entity_id": ["A", "B", "C"], "label": [1, 0, 0]})
    with pytest.raises(InvalidParameter, match="only 1 positive entities") as err:
        compare_on_dataset(_frames(), labels)
    assert err.value.name == "labels"


def _result(test_rows: int, positives: int, low: float) -> dict[str, object]:
    metrics = {"pr_auc": 0.5, "roc_auc": 0.9, "f1_minority": 0.4, "recall_at_1pct": 0.2}
    models = ("raw_aggregates_lightgbm", "snapml_graph_lightgbm", "flowrisk", "flowrisk_plus_graph")
    diff = {"versus": "snapml_graph_lightgbm", "difference": 0.1, "low": low, "high": 0.2}
    diff |= {"level": 0.95, "resamples": 990, "skipped": 10}
    k = max(1, round(0.01 * test_rows))
    return {
        "dates": ["2025-01-01T00:00:00+00:00", "2025-03-01T00:00:00+00:00"],
        "split": {"test": {"rows": test_rows, "positives": positives, "entities": test_rows}},
        "metrics": {m: dict(metrics) for m in models},
        "recall_at_1pct_cap": {
            "alerts": k,
            "positives": positives,
            "cap": min(1.0, k / positives),
            "capped": positives > k,
        },
        "differences": {m: dict(diff) for m in metrics},
        "family_ablation": {"every family": {"features": 3, "pr_auc": 0.5, "roc_auc": None}},
    }


def test_the_markdown_names_models_intervals_caps_and_ablations() -> None:
    text = benchmark_markdown(
        {"capped": _result(1_000, 40, low=0.05), "uncapped": _result(1_000, 5, low=-0.01)}
    )
    # four models and the ceiling row, four differences
    assert text.count("| capped | ") == 5 + 4 and text.count("| uncapped | ") == 5 + 4
    assert "| capped | *ceiling (prevalence)* |  |  |  | *0.250* |" in text
    assert "| uncapped | *ceiling (prevalence)* |  |  |  | *1.000* |" in text
    assert "+0.100 [+0.050, +0.200] ✓" in text and "+0.100 [-0.010, +0.200] |" in text
    assert "Recall @1% is capped at 0.250: 40 positives for 10 alerts" in text
    assert text.count("is capped") == 1  # 5 positives fit in 10 alerts
    assert "Recall @1% can reach 1: 5 positives fit in 10 alerts" in text
    assert "1,000 resamples" in text and "95% CI" in text
    assert "What each feature family adds on capped" in text and "| every family | 3 |" in text
    assert benchmark_markdown({}) == ""
