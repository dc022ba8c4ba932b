"""Snap ML's graph features (``GraphFeaturePreprocessor``: fan-in/out, degrees, scatter-gather,
temporal cycles, vertex statistics) computed in its streaming mode: transactions go in time
order, in batches, through ``transform``, which inserts each batch into the in-memory graph
(dropping edges older than the time window) and computes the batch's features.

Why streaming: the batch mode (``fit_transform`` of the whole edge list) searches the patterns
of every edge in the whole graph at once, which froze for over an hour on a dense graph of
520,232 transactions; streamed in batches it takes seconds and can report progress.

How the two modes differ (measured on snapml 1.17.2, pinned by tests/unit/models/
test_graph_stream.py): an edge's streamed features are computed from the edges up to the end of
its batch, so adding later batches never changes them (point in time), whereas the batch mode
lets an edge's patterns see later edges and, because ``fit`` imports the edges that
``transform`` then inserts again, counts each edge twice in the fan and degree histograms.
Within one batch an edge does see the batch's later edges; batches never straddle a snapshot
date, so the features of an edge before a snapshot use only transactions before it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter

__all__ = [
    "BATCH_ROWS",
    "GRAPH_PARAMS",
    "edge_features",
    "edge_list",
    "graph_snapshots",
    "preprocessor",
    "streamed_features",
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
BATCH_ROWS = 5_000  # transactions per streamed batch: seconds per 100,000 on two cores
Tick = Callable[[int, int | None], None]  # (done, total): the batches' progress


def preprocessor(params: Mapping[str, Any] | None = None) -> Any:
    """A fresh ``GraphFeaturePreprocessor`` with the benchmark's parameters; a clear error
    naming the ``benchmark`` extra when snapml is not installed."""
    try:
        from snapml import GraphFeaturePreprocessor
    except ImportError as exc:
        raise InvalidParameter(
            "benchmark",
            "the graph-feature baseline needs snapml, which is not installed: "
            "pip install 'flowrisk[benchmark]'",
        ) from exc
    gfp = GraphFeaturePreprocessor()
    gfp.set_params(dict(params or GRAPH_PARAMS))
    return gfp


def edge_list(tx: pl.DataFrame, accounts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Snap ML's edge list (id, source, target, epoch seconds, amount) of the transactions of
    ``tx`` (sorted by time) between two accounts of ``accounts``, and the mask of those rows."""
    index = {a: i for i, a in enumerate(accounts)}
    edges = np.column_stack(
        [
            tx["txn_id"].to_numpy().astype(np.float64),
            tx["src_account_id"].replace_strict(index, default=-1).to_numpy().astype(np.float64),
            tx["dst_account_id"].replace_strict(index, default=-1).to_numpy().astype(np.float64),
            tx["ts"].dt.epoch("s").to_numpy().astype(np.float64),
            tx["amount"].to_numpy().astype(np.float64),
        ]
    ).reshape(-1, 5)
    known = (edges[:, 1] >= 0) & (edges[:, 2] >= 0)
    return np.ascontiguousarray(edges[known]), known


def _bounds(times: np.ndarray, cuts: Sequence[float], batch_rows: int) -> list[int]:
    """Row positions where batches start and end: every ``batch_rows`` rows and at each cut
    (the first row at or after it), so that no batch straddles a cut."""
    at_cuts = np.searchsorted(times, np.asarray(cuts, dtype=np.float64), side="left")
    regular = np.arange(0, len(times), batch_rows)
    return sorted({0, len(times), *regular.tolist(), *at_cuts.tolist()})


def streamed_features(
    edges: np.ndarray,
    *,
    cuts: Sequence[float] = (),
    batch_rows: int = BATCH_ROWS,
    params: Mapping[str, Any] | None = None,
    tick: Tick | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Snap ML's graph features of ``edges`` (sorted by time), streamed in batches of at most
    ``batch_rows`` that never straddle a cut (epoch seconds): yields each batch's first row
    and its features (without the raw columns); ``tick`` gets the rows done after each."""
    if batch_rows < 1:
        raise InvalidParameter("batch_rows", f"must be at least 1, got {batch_rows}")
    gfp = preprocessor(params)
    bounds = _bounds(edges[:, 3], cuts, batch_rows)
    for start, end in itertools.pairwise(bounds):
        if end > start:
            out = np.asarray(gfp.transform(edges[start:end]))
            yield start, out[:, edges.shape[1] :]
        if tick is not None:
            tick(end, len(edges))


def edge_features(
    tx: pl.DataFrame, accounts: Sequence[str], tick: Tick | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Streamed graph features of each transaction of ``tx`` (sorted by time) between two known
    accounts: the features and the mask of the rows they belong to."""
    edges, known = edge_list(tx, accounts)
    parts = [features for _, features in streamed_features(edges, tick=tick)]
    width = parts[0].shape[1] if parts else 0
    return (np.vstack(parts) if parts else np.zeros((0, width))), known


class _Sides:
    """Running sum, maximum and count of the edge features per account, as sender and as
    receiver, so that every snapshot is an aggregate of what came before it."""

    def __init__(self, accounts: int, width: int) -> None:
        self.sums = {s: np.zeros((accounts, width)) for s in ("out", "in")}
        self.maxes = {s: np.full((accounts, width), -np.inf) for s in ("out", "in")}
        self.counts = {s: np.zeros(accounts, dtype=np.int64) for s in ("out", "in")}

    def add(self, src: np.ndarray, dst: np.ndarray, features: np.ndarray) -> None:
        for side, who in (("out", src), ("in", dst)):
            np.add.at(self.sums[side], who, features)
            np.maximum.at(self.maxes[side], who, features)
            self.counts[side] += np.bincount(who, minlength=len(self.counts[side]))

    def per_entity(self, owners: pl.DataFrame, names: list[str]) -> pl.DataFrame:
        """Mean and max per entity over its accounts' edges, and the edge count per side."""
        rows = owners["_row"].to_numpy()
        out = owners.select("entity_id")
        aggs: list[pl.Expr] = []
        for side in ("out", "in"):
            sums, maxes = self.sums[side][rows], self.maxes[side][rows]
            out = out.with_columns(
                *(pl.Series(f"_s{side}{i}", sums[:, i]) for i in range(len(names))),
                *(pl.Series(f"_m{side}{i}", maxes[:, i]) for i in range(len(names))),
                pl.Series(f"_c{side}", self.counts[side][rows]),
            )
            count = pl.col(f"_c{side}").sum()
            aggs += [
                *(
                    (pl.col(f"_s{side}{i}").sum() / count).alias(f"{side}_{n}_mean")
                    for i, n in enumerate(names)
                ),
                *(
                    pl.col(f"_m{side}{i}").max().alias(f"{side}_{n}_max")
                    for i, n in enumerate(names)
                ),
                count.alias(f"{side}_count"),
            ]
        grouped = out.group_by("entity_id").agg(aggs)
        return grouped.with_columns(
            pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(0.0)
            for c in grouped.columns
            if c.endswith(("_mean", "_max"))
        )


def graph_snapshots(
    frames: Mapping[str, pl.LazyFrame],
    dates: Sequence[datetime],
    *,
    batch_rows: int = BATCH_ROWS,
    tick: Tick | None = None,
) -> tuple[pl.DataFrame, list[str]]:
    """Per entity and snapshot date (``as_of``): mean and max of the streamed graph features
    over the transactions it sent and received strictly before that date, and their counts
    (zeros for an entity without any), from one time-ordered pass; and the column names."""
    ordered = sorted(dates)
    accounts = frames["accounts"].select("account_id", "entity_id").collect()
    tx = (
        frames["transactions"]
        .filter(
            (pl.col("ts") < ordered[-1])
            & pl.col("src_account_id").is_not_null()
            & pl.col("dst_account_id").is_not_null()
        )
        .select("txn_id", "src_account_id", "dst_account_id", "ts", "amount")
        .sort("ts", "txn_id")
        .collect()
    )
    edges, _ = edge_list(tx, accounts["account_id"].to_list())
    cuts = [d.timestamp() for d in ordered]
    owners = accounts.with_row_index("_row").filter(pl.col("entity_id").is_not_null())
    entities = frames["entities"].select("entity_id").collect()
    sides: _Sides | None = None
    names: list[str] = []
    snaps: list[pl.DataFrame] = []
    pending = list(ordered)

    def emit(until: float) -> None:
        while pending and pending[0].timestamp() <= until:
            when = pending.pop(0)
            per = sides.per_entity(owners, names) if sides is not None else None
            snap = entities if per is None else entities.join(per, on="entity_id", how="left")
            snaps.append(snap.with_columns(pl.lit(when).alias("as_of")))

    for start, features in streamed_features(edges, cuts=cuts, batch_rows=batch_rows, tick=tick):
        emit(edges[start, 3])  # snapshots dated at or before this batch's first edge
        if sides is None:
            names = [f"g{i}" for i in range(features.shape[1])]
            sides = _Sides(len(accounts), features.shape[1])
        rows = slice(start, start + len(features))
        sides.add(edges[rows, 1].astype(np.int64), edges[rows, 2].astype(np.int64), features)
    emit(np.inf)
    frame = pl.concat(snaps, how="diagonal_relaxed").fill_null(0)
    columns = [c for c in frame.columns if c not in ("entity_id", "as_of")]
    return frame, columns
