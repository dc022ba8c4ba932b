"""Snap ML's graph features in streaming mode: point in time (later batches never change an
edge's features), how they differ from the batch mode, snapshots that see only earlier
transactions, and a named error without snapml."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

pytest.importorskip("snapml")

from flowrisk.errors import InvalidParameter
from flowrisk.models.graph_stream import (
    graph_snapshots,
    preprocessor,
    streamed_features,
)

DAY = 86_400
START = datetime(2025, 1, 1, tzinfo=UTC)


def _edges(seed: int = 0, rows: int = 1_500, vertices: int = 60) -> np.ndarray:
    """A small dense graph over 90 days, sorted by time, without self-loops."""
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(0, 90 * DAY, rows)).astype(np.float64)
    src = rng.integers(0, vertices, rows)
    dst = (src + rng.integers(1, vertices, rows)) % vertices
    amount = rng.gamma(2.0, 100.0, rows)
    return np.column_stack([np.arange(rows), src, dst, ts + START.timestamp(), amount]).astype(
        np.float64
    )


def _streamed(edges: np.ndarray, **kwargs: Any) -> np.ndarray:
    return np.vstack([f for _, f in streamed_features(edges, **kwargs)])


def test_streaming_is_point_in_time_later_batches_change_nothing() -> None:
    edges = _edges()
    full = _streamed(edges, batch_rows=200)
    prefix = _streamed(edges[:800], batch_rows=200)
    np.testing.assert_array_equal(full[:800], prefix)


def test_a_cut_splits_batches_so_edges_before_it_see_nothing_after_it() -> None:
    edges = _edges()
    cut = float(edges[777, 3]) + 0.5  # falls inside a batch of 200
    before = int(np.searchsorted(edges[:, 3], cut))
    with_cut = _streamed(edges, batch_rows=200, cuts=[cut])
    alone = _streamed(edges[:before], batch_rows=200)
    np.testing.assert_array_equal(with_cut[:before], alone)


def test_streaming_differs_from_the_batch_mode_as_documented() -> None:
    """The batch mode (``fit_transform``) is not point in time: an edge's features change when
    later edges are added; and it counts every edge twice in the fan histograms (fit imports
    the edges, transform inserts them again), where streaming counts it once."""
    edges = _edges()
    width = edges.shape[1]

    def batch(rows: np.ndarray) -> np.ndarray:
        return np.asarray(preprocessor().fit_transform(rows))[:, width:]

    assert not np.array_equal(batch(edges)[:800], batch(edges[:800]))
    one_batch = _streamed(edges, batch_rows=len(edges))
    bins = len(preprocessor().get_params()["fan_bins"])
    fan = slice(0, 2 * bins)  # the fan-in and fan-out histograms come first
    both = batch(edges)[:, fan]
    streamed = one_batch[:, fan]
    moved = both != streamed
    assert moved.any()
    np.testing.assert_array_equal(both[moved], 2 * streamed[moved])


def test_progress_ticks_once_per_batch_up_to_the_total() -> None:
    edges = _edges(rows=1_000)
    seen: list[tuple[int, int | None]] = []
    _streamed(edges, batch_rows=300, tick=lambda d, t: seen.append((d, t)))
    assert seen == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]


def _frames(edges: np.ndarray) -> dict[str, pl.LazyFrame]:
    accounts = [f"A{i}" for i in range(60)]
    owners = [f"E{i // 2}" if i < 50 else None for i in range(60)]  # ten external accounts
    tx = pl.DataFrame(
        {
            "txn_id": edges[:, 0].astype(np.int64),
            "src_account_id": [accounts[int(i)] for i in edges[:, 1]],
            "dst_account_id": [accounts[int(i)] for i in edges[:, 2]],
            "ts": pl.Series((edges[:, 3] * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC")),
            "amount": edges[:, 4],
        }
    )
    return {
        "transactions": tx.lazy(),
        "accounts": pl.DataFrame({"account_id": accounts, "entity_id": owners}).lazy(),
        "entities": pl.DataFrame({"entity_id": [f"E{i}" for i in range(26)]}).lazy(),
    }


def test_snapshots_aggregate_only_transactions_strictly_before_each_date() -> None:
    edges = _edges()
    frames = _frames(edges)
    dates = [START + timedelta(days=30), START + timedelta(days=60), START + timedelta(days=91)]
    snaps, cols = graph_snapshots(frames, dates, batch_rows=250)
    assert snaps.height == 26 * 3 and len(cols) > 0
    first = snaps.filter(pl.col("as_of") == dates[0]).sort("entity_id")
    cut = frames["transactions"].filter(pl.col("ts") < dates[0])
    alone, _ = graph_snapshots({**frames, "transactions": cut}, dates[:1], batch_rows=250)
    assert first.equals(alone.sort("entity_id").select(first.columns))
    # E25 has no account: zeros; counts follow the transactions before each date
    assert snaps.filter(pl.col("entity_id") == "E25").select(cols).to_numpy().sum() == 0
    sent = cut.collect().filter(pl.col("src_account_id").is_in(["A0", "A1"])).height
    assert first.filter(pl.col("entity_id") == "E0")["out_count"].item() == sent


def test_a_missing_snapml_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def without(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "snapml":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    with pytest.raises(InvalidParameter, match=r"flowrisk\[benchmark\]") as err:
        preprocessor()
    assert err.value.name == "benchmark"
