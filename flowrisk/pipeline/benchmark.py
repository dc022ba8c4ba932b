"""The benchmark against graph features, on a labelled dataset read once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.io import read_dataset
from flowrisk.schema import TABLES

__all__ = ["read_labelled", "run_benchmark"]

Step = Callable[[str], None]


def read_labelled(dataset: Path) -> dict[str, pl.LazyFrame]:
    """Every table of ``dataset`` read once and held in memory; refuses a dataset without
    labels, which the benchmark needs."""
    frames = {k: v.collect().lazy() for k, v in read_dataset(dataset, tables=list(TABLES)).items()}
    if "labels" not in frames:
        raise InvalidParameter(
            "labels", f"{dataset} has no labels.parquet: the benchmark needs them"
        )
    return frames


def run_benchmark(dataset: Path, *, seed: int = 42, step: Step | None = None) -> dict[str, Any]:
    """flowrisk against LightGBM on Snap ML graph features on the same temporal and entity
    split; the transaction-level comparison too when the dataset has transaction labels."""
    from flowrisk.models.external_bench import compare_on_dataset, compare_transactions

    frames = read_labelled(dataset)
    labels = frames.pop("labels").collect()
    txn_labels = frames.pop("transaction_labels", None)
    result = compare_on_dataset(frames, labels, seed=seed, step=step)
    if txn_labels is not None:
        per_txn = txn_labels.collect()
        if per_txn.height:
            result["transactions"] = compare_transactions(frames, per_txn, seed=seed, step=step)
    return result
