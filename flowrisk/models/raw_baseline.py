"""The baselines a data scientist builds first, without flowrisk's features: flowrisk's own
learner on raw per-entity sums (money in and out and counts per channel over the year before the
snapshot; what ``flowrisk train`` compares with) or on raw per-entity aggregates of any edge list
(count, sum, mean, max and standard deviation of amounts in and out, distinct counterparties,
active span; what ``flowrisk benchmark`` compares with)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from flowrisk.models.learner import fit_booster, predict_best
from flowrisk.schema import CHANNELS

__all__ = ["AGGREGATE_PREFIX", "raw_aggregates", "raw_sums", "raw_sums_scores"]

AGGREGATE_PREFIX = "agg_"  # columns of raw_aggregates (raw_ is taken by raw_sums)
YEAR = timedelta(days=365)


def raw_sums(frames: Mapping[str, pl.LazyFrame], as_of: datetime) -> pl.DataFrame:
    """Per entity: sum and count of money in and out per channel, 365 days before ``as_of``."""
    tx = frames["transactions"].filter((pl.col("ts") < as_of) & (pl.col("ts") >= as_of - YEAR))
    owners = (
        frames["accounts"]
        .filter(pl.col("entity_id").is_not_null())
        .select("account_id", "entity_id")
    )
    sides = [
        tx.join(owners, left_on=col, right_on="account_id").select(
            "entity_id", "amount", "channel", pl.lit(direction).alias("dir")
        )
        for col, direction in (("dst_account_id", "in"), ("src_account_id", "out"))
    ]
    aggs = []
    for direction in ("in", "out"):
        for channel in CHANNELS:
            hit = (pl.col("dir") == direction) & (pl.col("channel") == channel)
            aggs += [
                pl.col("amount").filter(hit).sum().alias(f"raw_{direction}_{channel}_sum"),
                hit.sum().alias(f"raw_{direction}_{channel}_count"),
            ]
    sums = pl.concat(sides).group_by("entity_id").agg(aggs)
    return (
        frames["entities"]
        .select("entity_id")
        .join(sums, on="entity_id", how="left", maintain_order="left")
        .fill_null(0)
        .collect(engine="streaming")
    )


def raw_aggregates(frames: Mapping[str, pl.LazyFrame], as_of: datetime) -> pl.DataFrame:
    """Per entity, over its accounts' transactions in the 365 days before ``as_of``: count,
    sum, mean, max and standard deviation of the amounts received and sent, distinct
    counterparty accounts each way, and the days between its first and last transaction (every
    entity of the dataset, zeros when it has none). Columns start with ``agg_``."""
    tx = frames["transactions"].filter((pl.col("ts") < as_of) & (pl.col("ts") >= as_of - YEAR))
    owners = (
        frames["accounts"]
        .filter(pl.col("entity_id").is_not_null())
        .select("account_id", "entity_id")
    )
    sides = []
    for own, other, tag in (
        ("dst_account_id", "src_account_id", "in"),
        ("src_account_id", "dst_account_id", "out"),
    ):
        amount = pl.col("amount")
        sides.append(
            tx.join(owners, left_on=own, right_on="account_id")
            .group_by("entity_id")
            .agg(
                pl.len().alias(f"agg_{tag}_count"),
                amount.sum().alias(f"agg_{tag}_sum"),
                amount.mean().alias(f"agg_{tag}_mean"),
                amount.max().alias(f"agg_{tag}_max"),
                amount.std().fill_null(0).alias(f"agg_{tag}_std"),
                pl.col(other).drop_nulls().n_unique().alias(f"agg_{tag}_counterparties"),
                pl.col("ts").min().alias(f"_first_{tag}"),
                pl.col("ts").max().alias(f"_last_{tag}"),
            )
        )
    out = frames["entities"].select("entity_id")
    for side in sides:
        out = out.join(side, on="entity_id", how="left", maintain_order="left")
    span = pl.max_horizontal("_last_in", "_last_out") - pl.min_horizontal("_first_in", "_first_out")
    return (
        out.with_columns((span.dt.total_seconds() / 86_400).alias("agg_active_span_days"))
        .drop("_first_in", "_last_in", "_first_out", "_last_out")
        .fill_null(0)
        .collect(engine="streaming")
    )


def raw_sums_scores(
    train: pl.DataFrame, valid: pl.DataFrame, test: pl.DataFrame, seed: int = 42
) -> np.ndarray:
    """Fit flowrisk's learner on the ``raw_*`` columns of train (early stopping on valid) and
    score test: the same learner as flowrisk's model, so only the features differ."""
    cols = [c for c in train.columns if c.startswith("raw_")]
    booster = fit_booster(
        train.select(cols).to_numpy(),
        train["label"].to_numpy(),
        valid.select(cols).to_numpy(),
        valid["label"].to_numpy(),
        names=cols,
        seed=seed,
    )
    return predict_best(booster, test.select(cols).to_numpy())
