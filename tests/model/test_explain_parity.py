"""The vectorised explanations equal the per-entity loop they replaced, field for field and
bit for bit (``explain_reference``): batch scoring with every entity explained and with the
alerts explained, red flags read from the partition's legs, against profiles, red flags read
apart and the old loop."""

from __future__ import annotations

import polars as pl
import pytest

from flowrisk.features import build_profiles, red_flags
from flowrisk.models.batch import score_partition
from flowrisk.schema import ALERT_BANDS
from tests.conftest import TrainedWorld
from tests.model import explain_reference


@pytest.fixture(scope="module")
def members(trained_world: TrainedWorld) -> list[str]:
    """A third of the world's entities: every band, with and without red flags."""
    ids = trained_world.frames["entities"].select("entity_id").collect()["entity_id"]
    return sorted(ids.to_list())[::3]


@pytest.fixture(scope="module")
def before(trained_world: TrainedWorld, members: list[str]) -> pl.DataFrame:
    """The explanations of ``members`` as the per-entity path made them."""
    t = trained_world
    profiles = build_profiles(t.frames, t.as_of, t.baselines, entities=members).collect()
    sectors = (
        t.frames["entities"]
        .filter(pl.col("entity_id").is_in(members))
        .select("entity_id", "sector_code")
        .collect()
    )
    flags = red_flags(t.frames, t.as_of, members)
    return explain_reference.explain(
        t.model, profiles, baselines=t.baselines, sectors=sectors, red_flags=flags
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["all", "alerts"])
def test_batch_explanations_equal_the_per_entity_path(
    trained_world: TrainedWorld, members: list[str], before: pl.DataFrame, mode: str
) -> None:
    t = trained_world
    _, explained, _ = score_partition(
        str(t.folder),
        members,
        t.as_of,
        t.model,
        t.baselines,
        mode,  # type: ignore[arg-type]
    )
    expected = before
    if mode == "alerts":
        expected = before.filter(pl.col("band").cast(pl.String).is_in(ALERT_BANDS))
    assert explained.height == expected.height > 0
    assert explained.schema == expected.schema
    assert explained.write_ndjson() == expected.write_ndjson()
    flagged = explained.filter(pl.col("red_flags").list.len() > 0)
    cited = flagged.explode("reasons").unnest("reasons")["evidence"].list.len().sum()
    assert flagged.height > 0 and cited > 0  # the comparison covered evidence, not only reasons
