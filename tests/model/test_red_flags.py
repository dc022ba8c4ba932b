"""Red flags on the seeded world: every flag of the catalog is raised for someone, on labelled
launderers far more often than on honest entities, and only with evidence."""

from __future__ import annotations

import polars as pl

from flowrisk.features import FLAG_SCHEMA, red_flag_catalog, red_flags
from tests.conftest import TrainedWorld


def test_every_catalog_flag_is_raised_with_evidence(trained_world: TrainedWorld) -> None:
    t = trained_world
    ids = t.labels["entity_id"].to_list()
    flags = red_flags(t.frames, t.as_of, ids)
    assert flags.schema == FLAG_SCHEMA
    assert set(flags["flag"]) == {g.name for g in red_flag_catalog()}
    assert (flags["evidence"].list.len() > 0).all()
    assert flags.select("entity_id", "flag").is_unique().all()
    rate = (
        t.labels.select("entity_id", "label")
        .join(
            flags.select("entity_id").unique().with_columns(pl.lit(1).alias("flagged")),
            on="entity_id",
            how="left",
        )
        .group_by("label")
        .agg(pl.col("flagged").fill_null(0).mean())
        .sort("label")["flagged"]
        .to_list()
    )
    assert rate[1] > 2 * rate[0]
