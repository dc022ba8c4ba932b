"""The second baseline a user would otherwise build: flowrisk's own learner on raw per-entity
sums (money in and out and counts per channel over the year before the snapshot), without
flowrisk features."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from flowrisk.models.learner import fit_booster, predict_best
from flowrisk.schema import CHANNELS

__all__ = ["raw_sums", "raw_sums_scores"]


def raw_sums(frames: Mapping[str, pl.LazyFrame], as_of: datetime) -> pl.DataFrame:
    """Per entity: sum and count of money in and out per channel, 365 days before ``as_of``."""
    tx = frames["transactions"].filter(
        (pl.col("ts") < as_of) & (pl.col("ts") >= as_of - timedelta(days=365))
    )
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
