"""Payloads built from a dataset: one entity with its accounts, counterparty accounts,
transactions, assets, reports and ownership links, as JSON-ready dicts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime | date):
            v = v.isoformat()
        out[k] = v
    return out


def payload_for(frames: dict[str, pl.LazyFrame], entity: str, as_of: datetime) -> dict[str, Any]:
    """Everything a client would send about ``entity`` as of ``as_of``."""
    own = frames["accounts"].filter(pl.col("entity_id") == entity).collect()
    ids = own["account_id"].implode()
    tx = (
        frames["transactions"]
        .filter(
            (pl.col("src_account_id").is_in(ids) | pl.col("dst_account_id").is_in(ids))
            & (pl.col("ts") < as_of)
        )
        .sort("txn_id")
        .collect()
    )
    cps = pl.concat([tx["src_account_id"], tx["dst_account_id"]]).drop_nulls().unique()
    accounts = (
        frames["accounts"]
        .filter(pl.col("account_id").is_in(cps.implode()) | pl.col("account_id").is_in(ids))
        .sort("account_id")
        .collect()
    )

    def rows(name: str, cond: pl.Expr) -> list[dict[str, Any]]:
        if name not in frames:
            return []
        frame = frames[name].filter(cond).collect()
        return [
            _jsonable(r) for r in frame.with_columns(pl.col(pl.Enum).cast(pl.String)).to_dicts()
        ]

    entity_row = rows("entities", pl.col("entity_id") == entity)[0]
    return {
        "as_of": as_of.isoformat(),
        "entity": {k: v for k, v in entity_row.items() if v is not None},
        "accounts": [
            {k: v for k, v in _jsonable(a).items() if v is not None}
            for a in accounts.with_columns(
                pl.col("account_type").cast(pl.String),
                pl.col("risk_tags").cast(pl.List(pl.String)),
            ).to_dicts()
        ],
        "transactions": [
            {k: v for k, v in _jsonable(t).items() if v is not None}
            for t in tx.with_columns(pl.col("channel").cast(pl.String)).to_dicts()
        ],
        "assets": rows(
            "assets", (pl.col("entity_id") == entity) & (pl.col("acquired_at") < as_of.date())
        ),
        "reports": rows(
            "reports", (pl.col("entity_id") == entity) & (pl.col("reported_at") < as_of)
        ),
        "ownership": rows(
            "ownership",
            (pl.col("owner_entity_id") == entity) | (pl.col("owned_entity_id") == entity),
        ),
    }
