"""flowrisk against the baselines a data scientist would otherwise run, on any labelled dataset,
each model fitted by flowrisk's one learner (:func:`flowrisk.models.learner.fit_booster`) on the
same point-in-time snapshots and the same entity-and-time split, so only the features differ:

- ``raw_aggregates_lightgbm``: raw per-entity aggregates of the edge list (count, sum, mean,
  max and dispersion of amounts each way, distinct counterparties, active span);
- ``snapml_graph_lightgbm``: the baseline of the AML literature, IBM Snap ML's per-transaction
  graph features (fan-in/out, degrees, scatter-gather, temporal cycles, vertex statistics),
  streamed in time order (:mod:`flowrisk.models.graph_stream`) and aggregated per entity over
  the transactions it sent and received before the snapshot (mean and max);
- ``flowrisk``: flowrisk's features; ``flowrisk_plus_graph``: both, which says whether
  flowrisk's features add to the graph patterns.

The test snapshot is the last date and its entities were never trained on. Metrics: PR-AUC,
ROC-AUC, minority-class F1 at the threshold that maximises F1 on validation, recall at 1 % of
the test rows (capped below 1 when positives exceed 1 % of them), and for each a paired
bootstrap interval of flowrisk's difference to the better baseline on that metric. The
transaction-level protocol of AMLworld is :func:`compare_transactions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import build_profiles, feature_names, fit_baselines, partitions_for
from flowrisk.models.ablation import family_ablation, split_scores
from flowrisk.models.bootstrap import RESAMPLES, Metric, paired_bootstrap
from flowrisk.models.dataset import Split, snapshot_dates, snapshots, split_snapshots
from flowrisk.models.evaluate import evaluate_scores, recall_at_budget, recall_ceiling
from flowrisk.models.graph_stream import GRAPH_PARAMS, edge_features, graph_snapshots
from flowrisk.models.learner import fit_booster, predict_best
from flowrisk.models.raw_baseline import AGGREGATE_PREFIX, raw_aggregates
from flowrisk.models.train import MIN_POSITIVES

__all__ = [
    "BASELINES",
    "COMPARED",
    "GRAPH_PARAMS",
    "MODELS",
    "benchmark_snapshots",
    "compare_on_dataset",
    "compare_transactions",
    "recall_at_budget",
]

FLOWRISK = "flowrisk"
BASELINES = ("raw_aggregates_lightgbm", "snapml_graph_lightgbm")
MODELS = (*BASELINES, FLOWRISK, "flowrisk_plus_graph")
COMPARED = ("pr_auc", "roc_auc", "f1_minority", "recall_at_1pct")  # with a paired interval
BUDGET = 0.01  # recall at 1 % of the test rows: what analysts can open
Tick = Callable[[int, int | None], None]
Ticks = Callable[[str], Tick]


def _no_tick(done: int, total: int | None) -> None:
    """Progress nobody watches."""


def _quiet(description: str) -> Tick:
    return _no_tick


def _valid_threshold(valid_scores: np.ndarray, y_valid: np.ndarray) -> float:
    """The score threshold that maximises minority-class F1 on the validation rows."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_valid, valid_scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))]) if len(thresholds) else 0.5


def _f1_at_valid_threshold(
    valid_scores: np.ndarray, y_valid: np.ndarray, test_scores: np.ndarray, y_test: np.ndarray
) -> float:
    from sklearn.metrics import f1_score

    best = _valid_threshold(valid_scores, y_valid)
    return float(f1_score(y_test, test_scores >= best, zero_division=0))


def _check_labels(labels: pl.DataFrame) -> None:
    """Refuse a dataset whose labels cannot give a split with enough positives to learn from."""
    if labels.is_empty():
        raise InvalidParameter(
            "labels", "the dataset has no labelled entities: the benchmark needs them"
        )
    positives = int((labels["label"] == 1).sum())
    if positives < MIN_POSITIVES * 2:
        raise InvalidParameter(
            "labels",
            f"only {positives} positive entities: the benchmark's entity split needs at least "
            f"{MIN_POSITIVES * 2} (about {MIN_POSITIVES} to train on, the others to validate "
            "and test)",
        )


def benchmark_snapshots(
    frames: Mapping[str, pl.LazyFrame],
    labels: pl.DataFrame,
    dates: list[datetime],
    ticks: Ticks = _quiet,
) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """flowrisk's labelled snapshots at ``dates`` joined with the raw aggregates and the graph
    features at the same dates, and the columns of each model."""
    baselines = fit_baselines(frames, dates[0], partitions_for(frames))
    tick = ticks("flowrisk profiles and raw aggregates")
    parts = []
    for done, when in enumerate(dates, 1):
        profiles = snapshots(frames, labels, [when], baselines)
        parts.append(profiles.join(raw_aggregates(frames, when), on="entity_id", how="left"))
        tick(done, len(dates))
    data = pl.concat(parts)
    graph, graph_cols = graph_snapshots(frames, dates, tick=ticks("graph features (Snap ML)"))
    data = data.join(graph, on=["entity_id", "as_of"], how="left").with_columns(
        pl.col(graph_cols).fill_null(0)
    )
    agg_cols = [c for c in data.columns if c.startswith(AGGREGATE_PREFIX)]
    ours = feature_names()
    columns = {
        "raw_aggregates_lightgbm": agg_cols,
        "snapml_graph_lightgbm": graph_cols,
        FLOWRISK: ours,
        "flowrisk_plus_graph": [*ours, *graph_cols],
    }
    return data, columns


def _metrics(valid_scores: np.ndarray, test_scores: np.ndarray, split: Split) -> dict[str, Any]:
    """Held-out metrics of one model's scores, with its validation F1 threshold."""
    y_valid, y_test = split.valid["label"].to_numpy(), split.test["label"].to_numpy()
    metrics = evaluate_scores(test_scores, split.test, calibrated=False)
    threshold = _valid_threshold(valid_scores, y_valid)
    metrics["f1_threshold"] = threshold
    metrics["f1_minority"] = _f1_at_valid_threshold(valid_scores, y_valid, test_scores, y_test)
    return metrics


def _recall_cap(y_test: np.ndarray) -> dict[str, Any]:
    """The best recall at 1 % any model can reach: below 1 when positives exceed the alerts."""
    k = max(1, round(BUDGET * len(y_test)))
    positives = int(y_test.sum())
    return {
        "alerts": k,
        "positives": positives,
        "cap": recall_ceiling(positives, len(y_test), BUDGET),
        "capped": positives > k,
    }


def _f1_of_decisions(y: np.ndarray, decisions: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, decisions >= 0.5, zero_division=0))


def _metric_functions() -> dict[str, Metric]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "pr_auc": average_precision_score,
        "roc_auc": roc_auc_score,
        "f1_minority": _f1_of_decisions,  # fed the decisions at each model's own threshold
        "recall_at_1pct": recall_at_budget,
    }


def _differences(
    split: Split,
    scores: Mapping[str, tuple[np.ndarray, np.ndarray]],
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    resamples: int,
    seed: int,
    tick: Tick,
) -> dict[str, dict[str, Any]]:
    """Per compared metric: flowrisk minus the better baseline on that metric, with its paired
    bootstrap interval over the held-out entities."""
    y = split.test["label"].to_numpy()
    out: dict[str, dict[str, Any]] = {}
    functions = _metric_functions()
    for done, name in enumerate(COMPARED, 1):
        best = max(BASELINES, key=lambda b: metrics[b][name])
        a, b = scores[FLOWRISK][1], scores[best][1]
        if name == "f1_minority":
            a = (a >= metrics[FLOWRISK]["f1_threshold"]).astype(np.float64)
            b = (b >= metrics[best]["f1_threshold"]).astype(np.float64)
        ci = paired_bootstrap(y, a, b, functions[name], resamples=resamples, seed=seed)
        out[name] = {"versus": best, **ci.to_dict()}
        tick(done, len(COMPARED))
    return out


def compare_on_dataset(
    frames: Mapping[str, pl.LazyFrame],
    labels: pl.DataFrame,
    *,
    seed: int = 42,
    ticks: Ticks = _quiet,
    resamples: int = RESAMPLES,
    ablation: bool = False,
) -> dict[str, Any]:
    """The four models on the same split of a labelled dataset: metrics per model, the cap of
    recall at 1 %, flowrisk's paired differences to the best baseline, and (``ablation``) what
    each feature family adds."""
    _check_labels(labels)
    dates = snapshot_dates(frames)
    data, columns = benchmark_snapshots(frames, labels, dates, ticks)
    split = split_snapshots(data, seed=seed)
    train_positives = int(split.train["label"].sum())
    if train_positives < MIN_POSITIVES:
        raise InvalidParameter(
            "labels",
            f"only {train_positives} positive rows to train on after the entity and time split; "
            f"at least {MIN_POSITIVES} are needed",
        )
    tick = ticks("fitting the four models")
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for done, name in enumerate(MODELS, 1):
        scores[name] = split_scores(split, columns[name], seed)
        tick(done, len(MODELS))
    metrics = {name: _metrics(*scores[name], split) for name in MODELS}
    result: dict[str, Any] = {
        "dates": [d.isoformat() for d in dates],
        "split": split.describe(),
        "features": {name: len(cols) for name, cols in columns.items()},
        "metrics": metrics,
        "recall_at_1pct_cap": _recall_cap(split.test["label"].to_numpy()),
        "differences": _differences(
            split,
            scores,
            metrics,
            resamples=resamples,
            seed=seed,
            tick=ticks(f"paired bootstrap ({resamples:,} resamples)"),
        ),
    }
    if ablation:
        result["family_ablation"] = family_ablation(split, seed=seed, tick=ticks("family ablation"))
    return result


def _transaction_rows(
    frames: Mapping[str, pl.LazyFrame],
    txn_labels: pl.DataFrame,
    owners: pl.DataFrame,
    tick: Tick | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Transactions between known accounts in time order with their graph features, label,
    channel code, hour and part (first 60 % train, next 20 % valid, last 20 % test)."""
    tx = (
        frames["transactions"]
        .select("txn_id", "src_account_id", "dst_account_id", "ts", "amount", "channel")
        .sort("ts", "txn_id")
        .collect()
    )
    enriched, known = edge_features(tx, owners["account_id"].to_list(), tick)
    names = [f"g{i}" for i in range(enriched.shape[1])]
    bad = txn_labels["txn_id"].unique().to_list()
    rows = pl.concat(
        [tx.filter(pl.Series(known)), pl.DataFrame(enriched, schema=names)], how="horizontal"
    ).with_columns(
        pl.col("txn_id").is_in(bad).cast(pl.Int8).alias("label"),
        pl.col("channel").to_physical().cast(pl.Int32).alias("channel_code"),
        pl.col("ts").dt.hour().alias("hour"),
    )
    n = rows.height
    if n < 100 or rows["label"].sum() < 10:
        raise InvalidParameter("transaction_labels", "too few labelled transactions to compare")
    part = pl.int_range(pl.len())
    rows = rows.with_columns(
        pl.when(part < int(0.6 * n))
        .then(pl.lit("train"))
        .when(part < int(0.8 * n))
        .then(pl.lit("valid"))
        .otherwise(pl.lit("test"))
        .alias("part")
    )
    return rows, names


def _with_entity_profiles(
    frames: Mapping[str, pl.LazyFrame], rows: pl.DataFrame, owners: pl.DataFrame
) -> tuple[pl.DataFrame, datetime, datetime]:
    """Each row with the profiles of its paying and paid entity (``src_``/``dst_`` columns) as
    of the start of the validation period (train and valid rows) or of the test period (test
    rows): never later than the rows scored. Returns the rows and both start dates."""
    parts = rows["part"]
    valid_start = rows["ts"].filter(parts == "valid").min()
    test_start = rows["ts"].filter(parts == "test").min()
    assert isinstance(valid_start, datetime) and isinstance(test_start, datetime)
    baselines = fit_baselines(frames, valid_start)
    feats = feature_names()
    profiled = []
    for when, names in ((valid_start, ("train", "valid")), (test_start, ("test",))):
        prof = (
            build_profiles(frames, when, baselines)
            .collect()
            .join(owners, on="entity_id")
            .drop("entity_id", "entity_type")
        )
        chunk = rows.filter(pl.col("part").is_in(list(names)))
        for side in ("src", "dst"):
            chunk = chunk.join(
                prof.rename({f: f"{side}_{f}" for f in feats}),
                left_on=f"{side}_account_id",
                right_on="account_id",
                how="left",
            )
        profiled.append(chunk)
    joined = pl.concat(profiled, how="diagonal_relaxed").sort("ts", "txn_id")
    return joined, valid_start, test_start


def _transaction_metrics(rows: pl.DataFrame, cols: list[str], seed: int) -> dict[str, Any]:
    """flowrisk's learner on ``cols`` of the train rows (stopped on valid); test metrics."""
    from sklearn.metrics import average_precision_score

    by_part = {p: rows.filter(pl.col("part") == p) for p in ("train", "valid", "test")}
    x = {p: frame.select(cols).to_numpy() for p, frame in by_part.items()}
    y = {p: frame["label"].to_numpy() for p, frame in by_part.items()}
    booster = fit_booster(x["train"], y["train"], x["valid"], y["valid"], names=cols, seed=seed)
    valid_scores, test_scores = predict_best(booster, x["valid"]), predict_best(booster, x["test"])
    return {
        "pr_auc": float(average_precision_score(y["test"], test_scores)),
        "f1_minority": _f1_at_valid_threshold(valid_scores, y["valid"], test_scores, y["test"]),
        "test_rows": len(y["test"]),
        "test_positives": int(y["test"].sum()),
    }


def compare_transactions(
    frames: Mapping[str, pl.LazyFrame],
    txn_labels: pl.DataFrame,
    *,
    seed: int = 42,
    ticks: Ticks = _quiet,
) -> dict[str, Any]:
    """The AMLworld protocol at transaction level: transactions in time order, the first 60 %
    to train, the next 20 % to validate (early stopping and the F1 threshold), the last 20 % to
    test; minority-class F1 and PR-AUC. The baseline sees each transaction's Snap ML graph
    features, amount, channel and hour; flowrisk adds the point-in-time profiles of the paying
    and the paid entity."""
    owners = frames["accounts"].select("account_id", "entity_id").collect()
    tick = ticks("transaction level: graph features (Snap ML)")
    rows, names = _transaction_rows(frames, txn_labels, owners, tick)
    rows, valid_start, test_start = _with_entity_profiles(frames, rows, owners)
    base_cols = [*names, "amount", "channel_code", "hour"]
    ours_cols = [*base_cols, *(f"{s}_{f}" for s in ("src", "dst") for f in feature_names())]
    results: dict[str, Any] = {}
    fitting = ticks("transaction level: fitting")
    for done, (name, cols) in enumerate(
        (("flowrisk", ours_cols), ("snapml_graph_lightgbm", base_cols)), 1
    ):
        results[name] = _transaction_metrics(rows, cols, seed)
        fitting(done, 2)
    return {
        "split": {"valid_start": valid_start.isoformat(), "test_start": test_start.isoformat()},
        "metrics": results,
    }
