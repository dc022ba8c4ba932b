"""Lookups of a served dataset's entities from memory. At start-up the service prepares, in the
batch path (``build_profiles`` and ``red_flags`` over the whole dataset, partition by
partition, as ``flowrisk score`` does), every entity's profile and red flags at the dataset's
``as_of`` for the bundle it serves; a lookup then only explains one prepared row (the same
``explain`` step every path ends with). ``LegIndex`` finds an entity's transactions and those of
the entities it deals with without scanning the table (what the console's entity page draws)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from flowrisk.features import (
    HORIZON_DAYS,
    build_profiles,
    entity_partitions,
    partitions_for,
    red_flags,
)
from flowrisk.models.explain import explain

if TYPE_CHECKING:
    from flowrisk.models.registry import Bundle

__all__ = ["LegIndex", "Prepared", "prepare_lookups"]


@dataclass(frozen=True)
class Prepared:
    """Every entity's profile, sector and red flags at ``as_of`` for ``bundle`` (its baselines
    made the profiles): what an ingested lookup needs, held in memory."""

    bundle: Bundle
    as_of: datetime
    profiles: pl.DataFrame
    sectors: pl.DataFrame
    flags: pl.DataFrame
    scores: pl.DataFrame  # every profile scored at once (``RiskModel.score``), same row order
    rows: Mapping[str, int]
    flag_spans: Mapping[str, tuple[int, int]]

    def serves(self, bundle: Bundle, as_of: datetime) -> bool:
        """Whether lookups of ``bundle`` at ``as_of`` may read this (a reloaded model or
        another date goes through the feature path)."""
        return bundle is self.bundle and as_of == self.as_of

    def scored(self, entity_id: str) -> dict[str, object]:
        """The entity's bare score (entity_id, probability, score, band), as ``RiskModel.score``
        gives it for its one-row profile: scored with every profile at start-up, where one
        predict call serves them all (a lookup then costs a row read, not a model call)."""
        return self.scores.row(self.rows[entity_id], named=True)

    def explained(self, entity_id: str, profile: pl.DataFrame) -> pl.DataFrame:
        """The entity's explanation row, by the step ``explain_entities`` ends with."""
        start, end = self.flag_spans.get(entity_id, (0, 0))
        row = self.rows[entity_id]
        return explain(
            self.bundle.model,
            profile,
            baselines=self.bundle.baselines,
            sectors=self.sectors.slice(row, 1),
            red_flags=self.flags.slice(start, end - start),
        )

    def nbytes(self) -> int:
        """Memory held (Polars' estimate of the frames; the two maps are counted apart)."""
        return int(
            self.profiles.estimated_size()
            + self.scores.estimated_size()
            + self.sectors.estimated_size()
            + self.flags.estimated_size()
        )


def prepare_lookups(
    frames: Mapping[str, pl.LazyFrame], as_of: datetime, bundle: Bundle
) -> Prepared:
    """Profiles, sectors, red flags and bare scores of every entity of ``frames`` at ``as_of``,
    built as the batch scorer builds them (partitions of entities, the streaming engine)."""
    profiles, flags = [], []
    for members in entity_partitions(frames, partitions_for(frames)):
        ids = members.to_list()
        if not ids:
            continue
        plan = build_profiles(frames, as_of, bundle.baselines, entities=ids)
        profiles.append(plan.collect(engine="streaming"))
        flags.append(red_flags(frames, as_of, ids, "bulk"))
    every = pl.concat(profiles)
    sectors = every.select("entity_id").join(
        frames["entities"].select("entity_id", "sector_code").collect(),
        on="entity_id",
        how="left",
        maintain_order="left",
    )
    flagged = pl.concat(flags).sort("entity_id", "flag", maintain_order=True)
    spans = (
        flagged.select("entity_id")
        .with_row_index("row")
        .group_by("entity_id")
        .agg(pl.col("row").min().alias("start"), (pl.col("row").max() + 1).alias("end"))
    )
    ids = every["entity_id"].to_list()
    return Prepared(
        bundle=bundle,
        as_of=as_of,
        profiles=every,
        sectors=sectors,
        flags=flagged,
        scores=bundle.model.score(every),
        rows={entity: row for row, entity in enumerate(ids)},
        flag_spans={e: (int(s), int(t)) for e, s, t in spans.iter_rows()},
    )


class LegIndex:
    """The positions, in a dataset's transaction table, of each account's transactions of the
    ``HORIZON_DAYS`` before ``as_of`` (the window every feature and page reads), grouped by
    account: looking up a few hundred accounts costs a binary search each, not a table scan."""

    def __init__(self, transactions: pl.DataFrame, as_of: datetime) -> None:
        self.transactions = transactions
        start = as_of - timedelta(days=HORIZON_DAYS)
        window = transactions.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), "src_account_id",
            "dst_account_id", "ts",
        ).filter((pl.col("ts") < as_of) & (pl.col("ts") >= start))  # fmt: skip
        sides = [
            window.select(pl.col(side).alias("account"), "row")
            for side in ("src_account_id", "dst_account_id")
        ]
        long = pl.concat(sides).drop_nulls("account").unique().sort("account", "row")
        counts = long.group_by("account", maintain_order=True).len()
        self.accounts = counts["account"]
        ends = counts["len"].cast(pl.Int64).cum_sum().to_numpy()
        self.ends = ends
        self.starts = ends - counts["len"].to_numpy()
        self.rows = long["row"].to_numpy()

    def rows_of(self, accounts: Sequence[str]) -> np.ndarray:
        """The table positions (ascending, each once) of the window's transactions with one of
        ``accounts`` on a side."""
        if not accounts or self.accounts.is_empty():
            return np.empty(0, dtype=np.uint32)
        wanted = pl.Series("account", list(accounts), dtype=pl.String)
        at = self.accounts.search_sorted(wanted, side="left").to_numpy()
        inside = at < len(self.accounts)
        at, wanted = at[inside], wanted.filter(pl.Series(inside))
        found = at[(self.accounts.gather(at) == wanted).to_numpy()] if len(at) else at
        parts = [self.rows[self.starts[i] : self.ends[i]] for i in found]
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint32)

    def take(self, rows: np.ndarray) -> pl.DataFrame:
        """The transactions at the table positions ``rows``, in that order."""
        return self.transactions[pl.Series("row", rows, dtype=pl.UInt32)]

    def nbytes(self) -> int:
        """Memory the index adds to the table it points into."""
        return int(self.accounts.estimated_size() + self.rows.nbytes + 2 * self.ends.nbytes)
