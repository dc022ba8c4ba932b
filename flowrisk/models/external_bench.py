"""flowrisk against the baseline of the AML literature on any labelled dataset: per-transaction
graph features from IBM Snap ML's ``GraphFeaturePreprocessor`` (fan-in/out, degrees,
scatter-gather, temporal cycles, vertex statistics) fed to LightGBM, on the same temporal and
entity split as flowrisk's own model, at entity level; and both feature sets together, which
says whether flowrisk's features add to the graph patterns.

Entity level: both models see the point-in-time snapshots training uses
(:func:`flowrisk.models.dataset.snapshot_dates`); the test snapshot is the last date and its
entities were never trained on. Every model is fitted by flowrisk's one learner
(:func:`flowrisk.models.learner.fit_booster`), so only the features differ. The baseline
aggregates each account's graph features over its sent and received transactions before the
snapshot (mean and max), the way an entity-level user of those features would. Metrics:
PR-AUC, minority-class F1 at the threshold that maximises F1 on validation, and recall at the
alert budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features import build_profiles, feature_names, fit_baselines
from flowrisk.models.dataset import Split, snapshot_dates, snapshots, split_snapshots
from flowrisk.models.evaluate import evaluate_scores
from flowrisk.models.learner import fit_booster, predict_best
from flowrisk.models.train import fit_model

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = [
    "GRAPH_PARAMS",
    "compare_on_dataset",
    "compare_transactions",
    "graph_features",
]

DAY = 86_400
GRAPH_PARAMS: dict[str, Any] = {
    "num_threads": 2,
    "time_window": 30 * DAY,
    "vertex_stats": True,
    "vertex_stats_cols": [3],  # the amount column
    "vertex_stats_tw": 30 * DAY,
    "fan": True,
    "fan_tw": 7 * DAY,
    "degree": True,
    "degree_tw": 7 * DAY,
    "scatter-gather": True,
    "scatter-gather_tw": 7 * DAY,  # the costliest pattern on hubs
    "temp-cycle": True,
    "temp-cycle_tw": 14 * DAY,
    "lc-cycle": False,
}
Step = Callable[[str], None]


def edge_features(tx: pl.DataFrame, accounts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Snap ML's graph features of each transaction between two known accounts (``tx`` sorted
    by time): the features and the mask of the rows they belong to."""
    try:
        from snapml import GraphFeaturePreprocessor
    except ImportError as exc:
        raise InvalidParameter(
            "benchmark",
            "the graph-feature baseline needs snapml: pip install 'flowrisk[benchmark]'",
        ) from exc
    index = {a: i for i, a in enumerate(accounts)}
    edges = np.column_stack(
        [
            tx["txn_id"].to_numpy().astype(np.float64),
            tx["src_account_id"].replace_strict(index, default=-1).to_numpy().astype(np.float64),
            tx["dst_account_id"].replace_strict(index, default=-1).to_numpy().astype(np.float64),
            tx["ts"].dt.epoch("s").to_numpy().astype(np.float64),
            tx["amount"].to_numpy().astype(np.float64),
        ]
    )
    known = (edges[:, 1] >= 0) & (edges[:, 2] >= 0)
    edges = np.ascontiguousarray(edges[known])
    gfp = GraphFeaturePreprocessor()
    gfp.set_params(GRAPH_PARAMS)
    return np.asarray(gfp.fit_transform(edges))[:, edges.shape[1] :], known


def graph_features(frames: Mapping[str, pl.LazyFrame], as_of: datetime) -> pl.DataFrame:
    """Per entity: mean and max of Snap ML's graph features over the transactions it sent and
    received before ``as_of`` (every entity of the dataset, zeros when it has none)."""
    owners = frames["accounts"].select("account_id", "entity_id").collect()
    tx = (
        frames["transactions"]
        .filter(
            (pl.col("ts") < as_of)
            & pl.col("src_account_id").is_not_null()
            & pl.col("dst_account_id").is_not_null()
        )
        .select("txn_id", "src_account_id", "dst_account_id", "ts", "amount")
        .sort("ts", "txn_id")
        .collect()
    )
    enriched, known = edge_features(tx, owners["account_id"].to_list())
    names = [f"g{i}" for i in range(enriched.shape[1])]
    per_edge = pl.DataFrame(enriched, schema=names).with_columns(
        src=pl.Series(tx["src_account_id"].filter(pl.Series(known))),
        dst=pl.Series(tx["dst_account_id"].filter(pl.Series(known))),
    )
    sides = []
    for side, tag in (("src", "out"), ("dst", "in")):
        sides.append(
            per_edge.join(owners, left_on=side, right_on="account_id")
            .group_by("entity_id")
            .agg(
                *(pl.col(n).mean().alias(f"{tag}_{n}_mean") for n in names),
                *(pl.col(n).max().alias(f"{tag}_{n}_max") for n in names),
                pl.len().alias(f"{tag}_count"),
            )
        )
    out = frames["entities"].select("entity_id").collect()
    for per_side in sides:
        out = out.join(per_side, on="entity_id", how="left", maintain_order="left")
    return out.fill_null(0)


def _fit_on_split(split: Split, columns: list[str], seed: int) -> lgb.Booster:
    """flowrisk's learner on ``columns`` of the split's train rows, stopped on its valid rows."""
    return fit_booster(
        split.train.select(columns).to_numpy(),
        split.train["label"].to_numpy(),
        split.valid.select(columns).to_numpy(),
        split.valid["label"].to_numpy(),
        names=columns,
        seed=seed,
    )


def _f1_at_valid_threshold(
    valid_scores: np.ndarray, y_valid: np.ndarray, test_scores: np.ndarray, y_test: np.ndarray
) -> float:
    from sklearn.metrics import f1_score, precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_valid, valid_scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = thresholds[int(np.argmax(f1[:-1]))] if len(thresholds) else 0.5
    return float(f1_score(y_test, test_scores >= best, zero_division=0))


def _graph_snapshots(
    frames: Mapping[str, pl.LazyFrame], labels: pl.DataFrame, dates: list[datetime]
) -> tuple[pl.DataFrame, list[str]]:
    """flowrisk's labelled snapshots joined with the graph features at the same dates, and the
    names of the graph-feature columns."""
    baselines = fit_baselines(frames, dates[0])
    data = snapshots(frames, labels, dates, baselines)
    graph = pl.concat(
        [graph_features(frames, d).with_columns(pl.lit(d).alias("as_of")) for d in dates]
    )
    graph_cols = [c for c in graph.columns if c not in ("entity_id", "as_of")]
    return data.join(graph, on=["entity_id", "as_of"], how="left"), graph_cols


def compare_on_dataset(
    frames: Mapping[str, pl.LazyFrame],
    labels: pl.DataFrame,
    *,
    seed: int = 42,
    step: Step | None = None,
) -> dict[str, Any]:
    """Both models on the same split of a labelled dataset; metrics per model."""
    say = step or (lambda _: None)
    dates = snapshot_dates(frames)
    say("building flowrisk and graph-feature (Snap ML) snapshots")
    data, graph_cols = _graph_snapshots(frames, labels, dates)
    split = split_snapshots(data, seed=seed)
    say("training flowrisk")
    model, _ = fit_model(split, seed=seed)
    say("training the graph-feature baseline, and flowrisk with the graph features")
    columns = {
        "snapml_graph_lightgbm": graph_cols,
        "flowrisk_plus_graph": [*feature_names(), *graph_cols],
    }
    scores = {"flowrisk": (model.raw(split.valid), model.raw(split.test))}
    for name, cols in columns.items():
        booster = _fit_on_split(split, cols, seed)
        scores[name] = (
            predict_best(booster, split.valid.select(cols).to_numpy()),
            predict_best(booster, split.test.select(cols).to_numpy()),
        )
    y_valid, y_test = split.valid["label"].to_numpy(), split.test["label"].to_numpy()
    results: dict[str, Any] = {}
    for name, (valid_scores, test_scores) in scores.items():
        metrics = evaluate_scores(test_scores, split.test, calibrated=False)
        metrics["f1_minority"] = _f1_at_valid_threshold(valid_scores, y_valid, test_scores, y_test)
        results[name] = metrics
    return {"dates": [d.isoformat() for d in dates], "split": split.describe(), "metrics": results}


def _transaction_rows(
    frames: Mapping[str, pl.LazyFrame], txn_labels: pl.DataFrame, owners: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """Transactions between known accounts in time order with their graph features, label,
    channel code, hour and part (first 60 % train, next 20 % valid, last 20 % test)."""
    tx = (
        frames["transactions"]
        .select("txn_id", "src_account_id", "dst_account_id", "ts", "amount", "channel")
        .sort("ts", "txn_id")
        .collect()
    )
    enriched, known = edge_features(tx, owners["account_id"].to_list())
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
    step: Step | None = None,
) -> dict[str, Any]:
    """The AMLworld protocol at transaction level: transactions in time order, the first 60 %
    to train, the next 20 % to validate (early stopping and the F1 threshold), the last 20 % to
    test; minority-class F1 and PR-AUC. The baseline sees each transaction's Snap ML graph
    features, amount, channel and hour; flowrisk adds the point-in-time profiles of the paying
    and the paid entity."""
    say = step or (lambda _: None)
    owners = frames["accounts"].select("account_id", "entity_id").collect()
    say("graph features of every transaction (Snap ML)")
    rows, names = _transaction_rows(frames, txn_labels, owners)
    say("entity profiles at the validation and test starts")
    rows, valid_start, test_start = _with_entity_profiles(frames, rows, owners)
    base_cols = [*names, "amount", "channel_code", "hour"]
    ours_cols = [*base_cols, *(f"{s}_{f}" for s in ("src", "dst") for f in feature_names())]
    results: dict[str, Any] = {}
    for name, cols in (("flowrisk", ours_cols), ("snapml_graph_lightgbm", base_cols)):
        say(f"training {name} on transactions")
        results[name] = _transaction_metrics(rows, cols, seed)
    return {
        "split": {"valid_start": valid_start.isoformat(), "test_start": test_start.isoformat()},
        "metrics": results,
    }
