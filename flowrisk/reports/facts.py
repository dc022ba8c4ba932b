"""What a case report shows besides the explanation, read from the dataset's frames: the
entity's row, its legs of the year before, monthly flows, counterparties and the owners,
holdings and sibling companies around it, each id paired with the entity's name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import polars as pl

from flowrisk.features import entity_legs

__all__ = ["CONTROL", "entity_facts"]

# the roles through which an owner controls a company (the feature of shared owners uses them)
CONTROL = ("beneficial_owner", "shareholder")


def _monthly_flows(legs: pl.DataFrame) -> pl.DataFrame:
    """Net money per month and channel with others (in positive, out negative)."""
    return (
        legs.filter(~pl.col("is_self"))
        .with_columns(
            pl.col("ts").dt.strftime("%Y-%m").alias("month"),
            pl.when(pl.col("inbound")).then(pl.col("amount")).otherwise(-pl.col("amount")),
        )
        .group_by("month", pl.col("channel").cast(pl.String))
        .agg(pl.col("amount").sum().round(2))
        .sort("month", "channel")
    )


def _counterparties(legs: pl.DataFrame, top: int = 15) -> pl.DataFrame:
    """The ``top`` counterparties by money moved, with what went each way (a null account is
    cash)."""
    return (
        legs.filter(~pl.col("is_self"))
        .group_by("cp_account")
        .agg(
            pl.col("cp_entity").first(),
            pl.col("cp_country").first(),
            pl.col("cp_tags").first().cast(pl.List(pl.String)).list.join(", "),
            pl.col("amount").filter(pl.col("inbound")).sum().alias("received"),
            pl.col("amount").filter(~pl.col("inbound")).sum().alias("paid"),
            pl.len().alias("transactions"),
        )
        .with_columns((pl.col("received") + pl.col("paid")).alias("total"))
        .sort("total", "cp_account", descending=[True, False], nulls_last=True)
        .head(top)
    )


def _rows_of(frames: Mapping[str, pl.LazyFrame], table: str, where: pl.Expr) -> pl.DataFrame:
    """The rows of ``table`` where ``where`` holds (an empty frame when the dataset lacks it)."""
    return frames[table].filter(where).collect() if table in frames else pl.DataFrame()


def _siblings(frames: Mapping[str, pl.LazyFrame], entity_id: str) -> pl.DataFrame:
    """The other companies sharing a controlling owner with ``entity_id``: company, owner."""
    if "ownership" not in frames:
        return pl.DataFrame(schema={"company": pl.String, "owner": pl.String})
    control = frames["ownership"].filter(pl.col("role").cast(pl.String).is_in(CONTROL))
    owners = control.filter(pl.col("owned_entity_id") == entity_id).select("owner_entity_id")
    return (
        control.join(owners, on="owner_entity_id", how="semi")
        .filter(pl.col("owned_entity_id") != entity_id)
        .select(
            pl.col("owned_entity_id").alias("company"), pl.col("owner_entity_id").alias("owner")
        )
        .unique()
        .sort("company", "owner")
        .collect()
    )


def _names(
    frames: Mapping[str, pl.LazyFrame], ids: Iterable[str | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """Entity id -> name (an entity without a name is left out) and entity id -> type (person
    or company), for the ids given."""
    wanted = sorted({i for i in ids if i})
    rows = (
        frames["entities"]
        .filter(pl.col("entity_id").is_in(wanted))
        .select("entity_id", "name", pl.col("entity_type").cast(pl.String))
        .collect()
    )
    named = rows.filter(pl.col("name").is_not_null())
    names = dict(zip(named["entity_id"].to_list(), named["name"].to_list(), strict=True))
    types = dict(zip(rows["entity_id"].to_list(), rows["entity_type"].to_list(), strict=True))
    return names, types


def _institutions(frames: Mapping[str, pl.LazyFrame], legs: pl.DataFrame) -> dict[str, str]:
    """Account id -> the institution holding it, for the accounts of ``legs``."""
    wanted = {*legs["own_account"].drop_nulls(), *legs["cp_account"].drop_nulls()}
    rows = (
        frames["accounts"]
        .filter(pl.col("account_id").is_in(sorted(wanted)) & pl.col("institution_id").is_not_null())
        .select("account_id", "institution_id")
        .collect()
    )
    return dict(zip(rows["account_id"].to_list(), rows["institution_id"].to_list(), strict=True))


def entity_facts(
    frames: Mapping[str, pl.LazyFrame], entity_id: str, as_of: datetime
) -> dict[str, Any]:
    """The entity's row, its transactions (legs) of the year before ``as_of``, monthly flows by
    channel, counterparties, owners and what it owns, the companies sharing an owner with it,
    the rows behind evidence ids, the names and types of every entity these mention, and the
    institutions of the accounts its legs use."""
    entity = frames["entities"].filter(pl.col("entity_id") == entity_id).collect()
    # common-subplan elimination panics on the cached legs collected alone (Polars 2.1)
    no_cse = pl.QueryOptFlags(comm_subplan_elim=False)
    legs = entity_legs(frames, as_of, [entity_id]).collect(optimizations=no_cse)
    legs = legs.sort("ts", "txn_id")
    mine = pl.col("entity_id") == entity_id
    linked = (pl.col("owner_entity_id") == entity_id) | (pl.col("owned_entity_id") == entity_id)
    ownership = _rows_of(frames, "ownership", linked)
    siblings = _siblings(frames, entity_id)
    mentioned = [*legs["cp_entity"].to_list(), *siblings["company"], *siblings["owner"]]
    if ownership.height:
        mentioned += [*ownership["owner_entity_id"], *ownership["owned_entity_id"]]
    names, types = _names(frames, mentioned)
    return {
        "entity": entity.row(0, named=True) if entity.height else {"entity_id": entity_id},
        "legs": legs,
        "flows": _monthly_flows(legs),
        "counterparties": _counterparties(legs),
        "ownership": ownership,
        "siblings": siblings,
        "assets": _rows_of(frames, "assets", mine),
        "reports": _rows_of(frames, "reports", mine),
        "names": names,
        "types": types,
        "institutions": _institutions(frames, legs),
    }
