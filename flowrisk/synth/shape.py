"""Reducing a world to a plain transaction edge list: only amounts, times and counterparties.

An edge-list world is drawn by the same code as a full one, then keeps only the transfers
between two accounts (no cash legs) that touch no crypto account, every one a ``wire`` with no
currency or branch; entities keep their id, a placeholder type and country; accounts keep
their id and holder; assets, ownership and reports are empty. This is what an analyst's edge
list (AMLSim, AMLworld, a bank's payment export) gives flowrisk.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from flowrisk.schema import TABLES
from flowrisk.synth.world import ACCOUNT_TYPE, CHANNEL, COUNTRIES, Txns, World

__all__ = ["EDGE_LIST_EMPTY", "as_edge_list", "edge_mask", "edge_transactions"]

EDGE_LIST_EMPTY = ("assets", "ownership", "reports")  # tables an edge list does not carry
CRYPTO_KINDS = (ACCOUNT_TYPE["crypto_exchange"], ACCOUNT_TYPE["crypto_wallet"])
PLACEHOLDER_COUNTRY = COUNTRIES[0]  # one country for everyone: an edge list has no geography


def edge_mask(world: World, txns: Txns) -> np.ndarray:
    """Mask of the transactions an edge list keeps: both sides are accounts, none is crypto."""
    crypto = np.isin(world.accounts["kind"], CRYPTO_KINDS)
    keep = (txns.src >= 0) & (txns.dst >= 0)
    for side in (txns.src, txns.dst):
        keep &= ~crypto[np.maximum(side, 0)]
    return keep


def edge_transactions(world: World, txns: Txns) -> Txns:
    """The kept transactions, each a plain transfer: ``wire``, no currency, no branch."""
    kept = txns.take(edge_mask(world, txns))
    kept.channel[:] = CHANNEL["wire"]
    kept.currency[:] = -1
    kept.branch[:] = -1
    return kept


def as_edge_list(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The entities and accounts tables reduced to ids, holders and placeholders, the tables an
    edge list does not carry emptied; transactions and labels are passed through."""
    out = dict(tables)
    out["entities"] = tables["entities"].select(
        "entity_id",
        pl.lit("person").cast(TABLES["entities"].schema["entity_type"]).alias("entity_type"),
        pl.lit(PLACEHOLDER_COUNTRY).alias("country"),
    )
    out["entities"] = _with_schema(out["entities"], "entities")
    accounts = tables["accounts"].filter(
        ~pl.col("account_type").is_in(["crypto_exchange", "crypto_wallet"])
    )
    out["accounts"] = _with_schema(
        accounts.select(
            "account_id",
            "entity_id",
            pl.when(pl.col("entity_id").is_null())
            .then(pl.lit("external"))
            .otherwise(pl.lit("current"))
            .cast(TABLES["accounts"].schema["account_type"])
            .alias("account_type"),
            pl.lit([], dtype=TABLES["accounts"].schema["risk_tags"]).alias("risk_tags"),
        ),
        "accounts",
    )
    for name in EDGE_LIST_EMPTY:
        out[name] = TABLES[name].empty()
    return out


def _with_schema(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """``frame`` with every column of ``table``'s schema, nulls where it has none."""
    schema = TABLES[table].schema
    return frame.select(
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in schema.items()
    )
