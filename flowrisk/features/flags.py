"""Deterministic red flags with their evidence: facts an analyst can check line by line ("5
cash deposits in 2 months, each month just under the COSI threshold"), reported beside the
model's reasons.

Each family raises its own flags on the same point-in-time legs and masks as its features, so
a flag's evidence ids (``txn:<id>``, ``asset:<id>``, ``report:<id>``) also back the model's
reasons of that family (see ``Feature.red_flag``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import polars as pl

from flowrisk.features.build import RunMode, collect_plans
from flowrisk.features.context import Context, make_context
from flowrisk.features.evidence import FLAG_SCHEMA
from flowrisk.features.families import FAMILIES

__all__ = ["red_flags", "red_flags_of"]


def red_flags(
    frames: Mapping[str, pl.LazyFrame],
    as_of: datetime,
    entities: Sequence[str],
    mode: RunMode = "bulk",
) -> pl.DataFrame:
    """Red flags of ``entities`` as of ``as_of`` (strictly earlier events), one row per flag
    (``FLAG_SCHEMA``); ``mode`` says how the plans run (``collect_plans``)."""
    ids = list(entities)
    if not ids:
        return FLAG_SCHEMA.to_frame()
    return _collected(make_context(frames, as_of, {}, ids), mode)


def red_flags_of(ctx: Context, entities: Sequence[str]) -> pl.DataFrame:
    """Red flags of ``entities``, some or all of a context's, on the legs the context holds
    (``build_partition``: read once, in memory), as :func:`red_flags` gives them."""
    ids = list(entities)
    if not ids:
        return FLAG_SCHEMA.to_frame()
    legs = ctx.legs
    if ctx.entities is None or len(ids) < len(ctx.entities):
        legs = legs.filter(pl.col("entity_id").is_in(ids))
    return _collected(replace(ctx, legs=legs, entities=ids), "bulk")


def _collected(ctx: Context, mode: RunMode) -> pl.DataFrame:
    parts = [part for family in FAMILIES for part in family.red_flags(ctx)]
    out = pl.concat(collect_plans(parts, mode))
    return out.cast(dict(FLAG_SCHEMA)).sort("entity_id", "flag")  # type: ignore[arg-type]
