"""The single feature path: ``build_profiles`` serves training, batch scoring and the API.

Batch passes a whole dataset (lazily); the API passes the frames of one entity's neighbourhood
(:func:`frames_for_entities`); both give the same row for that entity (the parity test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Literal

import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.features.baselines import Baselines, reference_baselines
from flowrisk.features.catalog import catalog, feature_names
from flowrisk.features.context import HORIZON_DAYS, Context, held_context, make_context
from flowrisk.features.families import FAMILIES

__all__ = [
    "RunMode",
    "build_partition",
    "build_profiles",
    "collect_plans",
    "entity_partitions",
    "frames_for_entities",
    "iter_profile_partitions",
    "partitions_for",
]

ROWS_PER_PARTITION = 10_000_000  # transactions per partition: about 5 GiB peak (RESULTS.md)

ZERO_UNITS = {"EUR", "count", "flag"}  # an absent event is a zero, not an unknown


RunMode = Literal["bulk", "request"]


def collect_plans(plans: Sequence[pl.LazyFrame], mode: RunMode = "bulk") -> list[pl.DataFrame]:
    """Run ``plans`` together. ``bulk`` (datasets): the streaming engine with the optimiser,
    which pushes filters into the scans of large files. ``request`` (one entity's frames, a few
    thousand rows in memory): the in-memory engine without optimisation, which answers there
    four times sooner, as neither the streaming set-up nor planning pays for itself on so few
    rows (benchmarks/bench_api.py)."""
    if mode == "request":
        return pl.collect_all(plans, engine="in-memory", optimizations=pl.QueryOptFlags.none())
    return pl.collect_all(plans, engine="streaming")


def build_profiles(
    frames: Mapping[str, pl.LazyFrame],
    as_of: datetime,
    baselines: Baselines | None = None,
    entities: Iterable[str] | None = None,
) -> pl.LazyFrame:
    """One row per entity (``entity_id``, ``entity_type``, then every catalog feature), using
    only events strictly before ``as_of``. ``entities`` restricts the rows returned."""
    if as_of.tzinfo is None:
        raise InvalidParameter("as_of", "must be timezone-aware (UTC)")
    wanted = list(entities) if entities is not None else None
    ctx = make_context(frames, as_of, (baselines or reference_baselines()).tables(), wanted)
    return _profiles(ctx)


def build_partition(
    frames: Mapping[str, pl.LazyFrame],
    as_of: datetime,
    baselines: Baselines | None,
    entities: Sequence[str],
) -> tuple[pl.DataFrame, Context]:
    """Profiles of ``entities`` (as :func:`build_profiles`, streaming engine) and the context
    they were built on, its legs read once and kept in memory: the red flags of any of these
    entities (``red_flags_of``) then need no second read of the transactions."""
    if as_of.tzinfo is None:
        raise InvalidParameter("as_of", "must be timezone-aware (UTC)")
    ctx = held_context(frames, as_of, (baselines or reference_baselines()).tables(), entities)
    return _profiles(ctx).collect(engine="streaming"), ctx


def _profiles(ctx: Context) -> pl.LazyFrame:
    """The profile plan of the context's entities (every entity when it names none)."""
    out = ctx.frames["entities"].select("entity_id", "entity_type")
    if ctx.entities is not None:
        out = out.filter(pl.col("entity_id").is_in(list(ctx.entities)))
    for family in FAMILIES:
        out = out.join(family.compute(ctx), on="entity_id", how="left", maintain_order="left")
    fills, scoped = _finishing()
    return (
        out.select("entity_id", "entity_type", *fills)
        .with_columns(scoped)
        .select("entity_id", "entity_type", *feature_names())
    )


@cache
def _finishing() -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Every feature as Float64 (absent events as 0), then the company-only and person-only
    families nulled for the other entity type. Built once: a request would spend 0.5 ms on it."""
    fills = [
        pl.col(f.name).cast(pl.Float64).fill_null(0.0)
        if f.unit in ZERO_UNITS
        else pl.col(f.name).cast(pl.Float64)
        for f in catalog()
    ]
    only = {"biz": "company", "wealth": "person"}
    scoped = [
        pl.when(pl.col("entity_type") == only[f.family]).then(pl.col(f.name)).alias(f.name)
        for f in catalog()
        if f.family in only
    ]
    return fills, scoped


def frames_for_entities(
    frames: Mapping[str, pl.LazyFrame], entity_ids: Iterable[str], as_of: datetime
) -> dict[str, pl.LazyFrame]:
    """The part of a dataset the features of ``entity_ids`` depend on: their accounts and
    transactions, their counterparties' transactions (two hops), linked entities' assets and
    reports, and the ownership links around them."""
    ids = list(entity_ids)
    start = as_of - timedelta(days=HORIZON_DAYS)
    tx = frames["transactions"].filter((pl.col("ts") < as_of) & (pl.col("ts") >= start))
    accounts = frames["accounts"]
    own = (
        accounts.filter(pl.col("entity_id").is_in(ids)).select("account_id").collect()["account_id"]
    )
    first = tx.filter(
        pl.col("src_account_id").is_in(own.implode())
        | pl.col("dst_account_id").is_in(own.implode())
    ).collect()
    hop = pl.concat([first["src_account_id"], first["dst_account_id"]]).drop_nulls().unique()
    second = tx.filter(
        pl.col("src_account_id").is_in(hop.implode())
        | pl.col("dst_account_id").is_in(hop.implode())
    ).collect()
    transactions = pl.concat([first, second]).unique(maintain_order=True).sort("txn_id")
    used = (
        pl.concat([transactions["src_account_id"], transactions["dst_account_id"], own])
        .drop_nulls()
        .unique()
    )
    accounts_sub = accounts.filter(pl.col("account_id").is_in(used.implode())).collect()
    ownership = frames.get("ownership")
    links = pl.Series("entity_id", ids, dtype=pl.String)
    own_rows = None
    if ownership is not None:
        direct = ownership.filter(
            pl.col("owner_entity_id").is_in(ids) | pl.col("owned_entity_id").is_in(ids)
        ).collect()
        owners = direct.filter(pl.col("owned_entity_id").is_in(ids))["owner_entity_id"]
        around = ownership.filter(pl.col("owner_entity_id").is_in(owners.implode())).collect()
        own_rows = pl.concat([direct, around]).unique(maintain_order=True)
        links = pl.concat([links, own_rows["owner_entity_id"], own_rows["owned_entity_id"]])
    neighbours = pl.concat([links, accounts_sub["entity_id"]]).drop_nulls().unique()
    out: dict[str, pl.LazyFrame] = {
        "entities": frames["entities"].filter(pl.col("entity_id").is_in(neighbours.implode())),
        "accounts": accounts_sub.lazy(),
        "transactions": transactions.lazy(),
    }
    if own_rows is not None:
        out["ownership"] = own_rows.lazy()
    for name in ("assets", "reports"):
        if name in frames:
            out[name] = frames[name].filter(pl.col("entity_id").is_in(neighbours.implode()))
    return {k: (v.collect().lazy()) for k, v in out.items()}


def entity_partitions(frames: Mapping[str, pl.LazyFrame], partitions: int) -> list[pl.Series]:
    """Entity ids split into ``partitions`` groups by a hash of the id (stable for a given
    Polars version, so every process agrees on the groups)."""
    ids = frames["entities"].select("entity_id").collect()["entity_id"]
    bucket = ids.hash(seed=7) % partitions
    return [ids.filter(bucket == p) for p in range(partitions)]


def iter_profile_partitions(
    frames: Mapping[str, pl.LazyFrame],
    as_of: datetime,
    baselines: Baselines | None,
    partitions: int,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[pl.DataFrame]:
    """Profiles of every entity, built partition by partition (entities split by a hash of
    their id) so that memory stays bounded on large datasets. Each partition reads the whole
    transaction table but keeps only its entities' legs; round trips still see every entity."""
    for p, members in enumerate(entity_partitions(frames, partitions)):
        if len(members):
            yield build_profiles(frames, as_of, baselines, entities=members.to_list()).collect(
                engine="streaming"
            )
        if progress is not None:
            progress(p + 1, partitions)


def partitions_for(frames: Mapping[str, pl.LazyFrame]) -> int:
    """How many entity partitions keep one build near ROWS_PER_PARTITION transactions."""
    rows = frames["transactions"].select(pl.len()).collect().item()
    return max(1, -(-rows // ROWS_PER_PARTITION))
