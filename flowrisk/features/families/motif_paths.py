"""The path motifs of the motif family: scatter-gather both ways, U-turns and cycles of 3 and
4 hops, by self-joins of transfers bounded by time windows (an equi-join on a time bucket, then
the exact filter) through intermediaries with at most ``two_hop_max_degree`` counterparties.
Every path stays within two hops of the entity's own transactions."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from flowrisk.features.context import Context, ratio
from flowrisk.reference import thresholds

__all__ = ["CYCLE_DAYS", "WEEK", "paths", "transfers"]

WEEK = 7  # window of scatter-gather and U-turns, in days
CYCLE_DAYS = 14  # window of a cycle, from its first payment to the one that closes it
HUB = int(thresholds().two_hop_max_degree)
DAY_US = 86_400_000_000


def transfers(ctx: Context) -> pl.LazyFrame:
    """Every transfer between two accounts from the sending side: (src, dst, ts, cents)."""
    return ctx.transactions.filter(
        pl.col("src_account_id").is_not_null() & pl.col("dst_account_id").is_not_null()
    ).select(
        pl.col("src_account_id").alias("src"),
        pl.col("dst_account_id").alias("dst"),
        "ts",
        (pl.col("amount") * 100).round(0).cast(pl.Int64).alias("cents"),
    )


def _small(tx: pl.LazyFrame, near: pl.LazyFrame) -> pl.LazyFrame:
    """The accounts of ``near`` with at most HUB distinct counterparties in the year."""
    ends = pl.concat(
        [
            tx.select(pl.col("src").alias("account"), pl.col("dst").alias("other")),
            tx.select(pl.col("dst").alias("account"), pl.col("src").alias("other")),
        ]
    ).join(near, on="account", how="semi")
    return (
        ends.group_by("account")
        .agg(pl.col("other").n_unique().alias("deg"))
        .filter(pl.col("deg") <= HUB)
        .select("account")
    )


def _within(
    left: pl.LazyFrame, right: pl.LazyFrame, on: list[str], t_left: str, t_right: str, days: int
) -> pl.LazyFrame:
    """Rows of ``left`` joined to rows of ``right`` equal on ``on`` whose ``t_right`` falls
    within ``days`` days after ``t_left`` (strictly later). An equi-join on a bucket of
    ``days`` days (each left row looks in its own bucket and the next), then the exact filter:
    no cross join over the year."""
    width = days * DAY_US
    bucket = pl.col(t_left).dt.epoch("us") // width
    probe = pl.concat(
        [left.with_columns(bucket.alias("_b")), left.with_columns((bucket + 1).alias("_b"))]
    )
    target = right.with_columns((pl.col(t_right).dt.epoch("us") // width).alias("_b"))
    return (
        probe.join(target, on=[*on, "_b"])
        .filter(
            (pl.col(t_right) > pl.col(t_left))
            & (pl.col(t_right) <= pl.col(t_left) + timedelta(days=days))
        )
        .drop("_b")
    )


def paths(ctx: Context, legs: pl.LazyFrame) -> pl.LazyFrame:
    """Motifs through one or two intermediaries: scatter-gather both ways, U-turns and cycles
    of 3 and 4 hops (their counts and the money that came back)."""
    tx = transfers(ctx)
    near = legs.select(pl.col("cp_account").alias("account")).unique()
    small = _small(tx, near).cache()
    owner = ctx.frames["accounts"].select(
        pl.col("account_id").alias("C"), pl.col("entity_id").alias("c_entity")
    )
    out = legs.filter(~pl.col("inbound")).select(
        "entity_id",
        "txn_id",
        pl.col("ts").alias("t1"),
        pl.col("cents").alias("c1"),
        pl.col("cp_account").alias("B"),
    )
    inn = legs.filter(pl.col("inbound")).select(
        "entity_id",
        pl.col("ts").alias("t4"),
        pl.col("cents").alias("c4"),
        pl.col("cp_account").alias("D"),
    )
    hop_out = tx.join(small, left_on="src", right_on="account", how="semi").select(
        pl.col("src").alias("B"),
        pl.col("dst").alias("C"),
        pl.col("ts").alias("t2"),
        pl.col("cents").alias("c2"),
    )
    hop_in = tx.join(small, left_on="dst", right_on="account", how="semi").select(
        pl.col("dst").alias("D"), pl.col("src").alias("C"), pl.col("ts").alias("t3")
    )
    fwd = (
        _within(out, hop_out, ["B"], "t1", "t2", CYCLE_DAYS)
        .join(owner, on="C", how="left")
        .with_columns(pl.col("c_entity").eq_missing(pl.col("entity_id")).alias("home"))
        .cache()
    )
    bwd = (
        _within(hop_in, inn, ["D"], "t3", "t4", CYCLE_DAYS)
        .join(owner, on="C", how="left")
        .filter(pl.col("c_entity").ne_missing(pl.col("entity_id")) & (pl.col("C") != pl.col("D")))
        .cache()
    )
    away = fwd.filter(~pl.col("home") & (pl.col("C") != pl.col("B")))
    sg_out = _most(away.filter(_span("t1", "t2", WEEK)), "B", "motif_scatter_gather_out")
    sg_in = _most(bwd.filter(_span("t3", "t4", WEEK)), "D", "motif_scatter_gather_in")
    uturns = fwd.filter(pl.col("home") & _span("t1", "t2", WEEK)).select(
        "entity_id", "txn_id", "c1", pl.col("c2").alias("back")
    )
    sent = out.group_by("entity_id").agg(pl.col("c1").sum().alias("sent"))
    loops = _cycles(away, inn, bwd.join(small, left_on="C", right_on="account", how="semi"))
    parts = [
        sg_out,
        sg_in,
        _returned(uturns, sent, "motif_uturn_count_7d_365d", "motif_uturn_share_7d_365d"),
        _returned(loops, sent, "motif_cycle_count_14d_365d", "motif_cycle_share_14d_365d"),
    ]
    found = parts[0]
    for part in parts[1:]:
        found = found.join(part, on="entity_id", how="full", coalesce=True)
    return found


def _span(start: str, end: str, days: int) -> pl.Expr:
    """True when ``end`` is at most ``days`` days after ``start``."""
    return pl.col(end) - pl.col(start) <= timedelta(days=days)


def _most(paths: pl.LazyFrame, middle: str, name: str) -> pl.LazyFrame:
    """The most distinct ``middle`` accounts between the entity and one account ``C``."""
    return (
        paths.group_by("entity_id", "C")
        .agg(pl.col(middle).n_unique().alias("n"))
        .group_by("entity_id")
        .agg(pl.col("n").max().alias(f"{name}_max_7d_365d"))
    )


def _cycles(away: pl.LazyFrame, inn: pl.LazyFrame, bwd: pl.LazyFrame) -> pl.LazyFrame:
    """Payments of the entity closed by a later payment back to it within CYCLE_DAYS, each hop
    later than the one before: A->B->C->A (the closing payment from C) and A->B->C->D->A (C to
    an intermediary D that pays the entity)."""
    closing = _span("t1", "t4", CYCLE_DAYS) & (pl.col("t4") > pl.col("t2"))
    three = away.join(inn, left_on=["entity_id", "C"], right_on=["entity_id", "D"]).filter(closing)
    four = away.join(bwd, on=["entity_id", "C"]).filter(
        closing & (pl.col("t3") > pl.col("t2")) & (pl.col("D") != pl.col("B"))
    )
    keep = ["entity_id", "txn_id", "c1", pl.col("c4").alias("back")]
    return pl.concat([three.select(keep), four.select(keep)])


def _returned(back: pl.LazyFrame, sent: pl.LazyFrame, count: str, share: str) -> pl.LazyFrame:
    """Per entity: its payments that came back (``back``: one row per way back), and the share
    of the money it sent that came back, each payment counting at most its own amount."""
    per = back.group_by("entity_id", "txn_id").agg(
        pl.min_horizontal(pl.col("c1").first(), pl.col("back").max()).alias("r")
    )
    return (
        per.group_by("entity_id")
        .agg(pl.len().alias(count), pl.col("r").sum().alias("_r"))
        .join(sent, on="entity_id", how="left")
        .select(
            "entity_id",
            count,
            ratio(pl.col("_r").cast(pl.Float64), pl.col("sent").cast(pl.Float64)).alias(share),
        )
    )
