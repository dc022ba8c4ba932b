"""The benchmark against graph features, on a labelled dataset read once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowrisk.io import read_labelled
from flowrisk.pipeline.readable import reading_dataset

__all__ = ["run_benchmark"]

Step = Callable[[str], None]


def run_benchmark(
    dataset: Path, *, seed: int = 42, step: Step | None = None, verify: bool = True
) -> dict[str, Any]:
    """flowrisk against LightGBM on Snap ML graph features on the same temporal and entity
    split; the transaction-level comparison too when the dataset has transaction labels.
    With ``verify``, the files are checked against the manifest's SHA-256 first."""
    from flowrisk.models.external_bench import compare_on_dataset, compare_transactions

    tables, labels, per_txn = read_labelled(dataset, "the benchmark", verify=verify)
    with reading_dataset(dataset):
        frames = {name: frame.collect().lazy() for name, frame in tables.items()}  # read once
    result = compare_on_dataset(frames, labels, seed=seed, step=step)
    if per_txn is not None and per_txn.height:
        result["transactions"] = compare_transactions(frames, per_txn, seed=seed, step=step)
    return result
