"""For entities carrying each injected typology, how often the explanation's top tags name it.

The shares are printed (run with ``-s``) and recorded in benchmarks/RESULTS.md; the test fails
when a typology's share drops below most (one half). Typologies that no feature family is
evidence of yet (the short-window ones, until the motif family names them) cannot be named by
a tag: their shares are printed, not asserted."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from flowrisk.features import build_profiles
from flowrisk.features.catalog import FAMILY_TYPOLOGY
from flowrisk.models.batch import explain_entities
from flowrisk.schema import TYPOLOGIES
from tests.conftest import TRAINED_WORLD, TrainedWorld

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)  # after every training snapshot
TOP = 3  # every tag an explanation gives (MAX_TAGS)


def tag_shares(t: TrainedWorld) -> dict[str, tuple[int, float]]:
    """Typology -> (guilty entities, share whose top-``TOP`` tags include it)."""
    guilty = t.labels.filter((pl.col("label") == 1) & (pl.col("label_date") < AS_OF.date()))
    ids = guilty["entity_id"].to_list()
    profiles = build_profiles(t.frames, AS_OF, t.baselines, entities=ids).collect()
    out = explain_entities(t.frames, profiles, AS_OF, t.model, t.baselines)
    joined = out.join(guilty.select("entity_id", "typologies"), on="entity_id")
    shares = {}
    for typology in TYPOLOGIES:
        rows = joined.filter(pl.col("typologies").list.contains(typology))
        if rows.height:
            hit = rows["tags"].map_elements(
                lambda tags, t=typology: t in list(tags)[:TOP], return_dtype=pl.Boolean
            )
            shares[typology] = (rows.height, float(hit.mean()))
    return shares


def test_top_tags_name_the_injected_typology(trained_world: TrainedWorld) -> None:
    shares = tag_shares(trained_world)
    report = ", ".join(f"{t} {s:.0%} of {n}" for t, (n, s) in shares.items())
    print(f"\nshare of guilty entities whose top {TOP} tags name their typology: {report}")
    carried = {n for n, tp in TRAINED_WORLD.typologies.items() if tp.prevalence > 0}
    assert set(shares) == carried
    evidenced = set(FAMILY_TYPOLOGY.values())
    weak = {t: s for t, (_, s) in shares.items() if s < 0.5 and t in evidenced}
    assert not weak, f"typology tags miss most entities of {weak} ({report})"
