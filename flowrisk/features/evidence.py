"""Red-flag rows and the evidence ids behind them (``txn:<id>``, ``asset:<id>``,
``report:<id>``): the helpers every family's red-flag queries share."""

from __future__ import annotations

import polars as pl

from flowrisk.features.catalog import RedFlag

__all__ = ["FLAG_SCHEMA", "MAX_EVIDENCE", "counted", "eur", "flag_rows", "txn_ids"]

MAX_EVIDENCE = 50  # ids kept per flag, largest amounts first
FLAG_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "entity_id": pl.String,
        "flag": pl.String,
        "family": pl.String,
        "text": pl.String,
        "evidence": pl.List(pl.String),
    }
)


def eur(col: str) -> pl.Expr:
    """A money column as '12,345 EUR' (whole euros)."""
    return pl.format(
        "{} EUR",
        pl.col(col)
        .round(0)
        .cast(pl.Int64)
        .map_elements(lambda v: f"{v:,}", return_dtype=pl.String),
    )


def counted(col: str, one: str, many: str) -> pl.Expr:
    """A count column with its noun agreeing: '1 transfer', '3 transfers'."""
    n = pl.col(col)
    noun = pl.when(n == 1).then(pl.lit(one)).otherwise(pl.lit(many))
    return pl.format("{} {}", n, noun)


def txn_ids(mask: pl.Expr | None = None) -> pl.Expr:
    """Evidence ids of the legs (where ``mask``), largest amounts first, ties by id."""
    ids = pl.format("txn:{}", pl.col("txn_id"))
    amount = pl.col("amount")
    if mask is not None:
        ids, amount = ids.filter(mask), amount.filter(mask)
    txn = pl.col("txn_id") if mask is None else pl.col("txn_id").filter(mask)
    return ids.sort_by(amount, txn, descending=[True, False]).head(MAX_EVIDENCE)


def flag_rows(frame: pl.LazyFrame, flag: RedFlag, text: pl.Expr) -> pl.LazyFrame:
    """One row per entity of ``frame`` raising ``flag``, with its text and distinct evidence."""
    return frame.select(
        "entity_id",
        pl.lit(flag.name).alias("flag"),
        pl.lit(flag.family).alias("family"),
        text.alias("text"),
        pl.col("evidence").list.unique(maintain_order=True),
    )
