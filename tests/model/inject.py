"""Injecting a typology into honest entities of an already generated world, with the
generator's own planner and injector: the rows it adds to the dataset's tables."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from flowrisk.synth import REGISTRY, WorldParams, plan_world
from flowrisk.synth.generate import _active
from flowrisk.synth.tables import (
    accounts_frame,
    assets_frame,
    entities_frame,
    entity_ids,
    ownership_frame,
    reports_frame,
    transactions_frames,
)
from flowrisk.synth.typologies.reports import _convergence, cash_reports
from flowrisk.synth.world import AccountBook, Txns


@dataclass(frozen=True)
class Injected:
    """The honest entities that now carry the typology, and the dataset with its rows added."""

    entities: list[str]
    frames: dict[str, pl.LazyFrame]


def _book(accounts: dict[str, np.ndarray]) -> AccountBook:
    """An account book holding the world's accounts, so that planners can add theirs."""
    keys = ("entity", "kind", "institution", "country", "opened", "tags")
    return AccountBook(
        **{k: [accounts[k]] for k in keys},  # type: ignore[arg-type]
        size=len(accounts["entity"]),
    )


def _append(frame: pl.LazyFrame, rows: pl.DataFrame, key: str, prefix: str) -> pl.LazyFrame:
    """``rows`` added to ``frame`` with their ids prefixed (so they never collide)."""
    fresh = rows.with_columns((pl.lit(prefix) + pl.col(key)).alias(key))
    return pl.concat([frame.collect(), fresh]).lazy()


def inject(
    params: WorldParams,
    frames: dict[str, pl.LazyFrame],
    labels: pl.DataFrame,
    typology: str,
    k: int,
    seed: int,
    before_s: int,
) -> Injected:
    """Plan ``k`` new members of ``typology`` in the world of ``params`` (the world ``frames``
    were generated from), draw their scheme and return the entities that were honest in
    ``labels`` and whose scheme started before ``before_s``, with every row the scheme brings
    (transactions, accounts, entity changes, ownership, assets, reports)."""
    world = plan_world(params)
    entry = REGISTRY[typology]
    rng = np.random.default_rng([seed, entry.stream])
    guilty = np.zeros(world.n_entities, dtype=bool)
    for plan in world.schemes.values():
        guilty[plan.entity] = True
    n_accounts = len(world.accounts["entity"])
    book = _book(world.accounts)
    plan = entry.plan(rng, world, book, k, guilty)
    world.accounts = book.arrays()
    txns = Txns.concat(entry.inject(rng, world, plan, 0, world.n_entities))
    txns = txns.take(_active(world, txns))
    txns = txns.take(np.argsort(txns.ts, kind="stable"))
    honest = set(labels.filter(pl.col("label") == 0)["entity_id"])
    started = plan.entity[plan.start_s < before_s]
    members = sorted(set(entity_ids(world, started).to_list()) & honest)
    out = dict(frames)
    first_id = int(frames["transactions"].select(pl.col("txn_id").max()).collect().item()) + 1
    rows, _ = transactions_frames(world, txns, first_id)
    out["transactions"] = pl.concat([frames["transactions"].collect(), rows]).lazy()
    out["accounts"] = pl.concat(
        [frames["accounts"].collect(), accounts_frame(world).slice(n_accounts)]
    ).lazy()
    changed = entities_frame(world).filter(pl.col("entity_id").is_in(members))
    out["entities"] = pl.concat(
        [frames["entities"].collect().filter(~pl.col("entity_id").is_in(members)), changed]
    ).lazy()
    links = ownership_frame(world).join(
        frames["ownership"].collect(), on=["owner_entity_id", "owned_entity_id", "role"], how="anti"
    )
    out["ownership"] = pl.concat([frames["ownership"].collect(), links]).lazy()
    world.schemes = {typology: plan}
    bought = assets_frame(replace(world, assets={k: v[:0] for k, v in world.assets.items()}))
    out["assets"] = _append(frames["assets"], bought, "asset_id", "INJ-")
    filed = [cash_reports(world, txns)]
    if typology == "multi_declarant":  # the declarants converging on the members
        keys = ("entity", "declarant", "ts", "category")
        filed.append(dict(zip(keys, _convergence(rng, world, plan), strict=True)))
    reports = reports_frame(world, filed)
    mine = reports.filter(pl.col("entity_id").is_in(members))
    out["reports"] = _append(frames["reports"], mine, "report_id", "INJ-")
    return Injected(members, out)
