"""The entity split is a keyed BLAKE2b hash of the id's UTF-8 bytes: pinned ids stay on their
side whatever Polars version runs it, and an entity's side does not depend on which other rows
the frame holds or in what order."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flowrisk.models.dataset import BUCKETS, entity_buckets, split_snapshots

SEED = 42  # flowrisk's split seed (training_run.SPLIT_SEED)
# side of each id with the default shares (test 25 %, validation 20 %), computed once with
# hashlib.blake2b(id, digest_size=8, key=b"42"), big-endian, modulo 10,000
PINNED = {
    "E00000001": (598, "test"),
    "E00000002": (706, "test"),
    "E00000003": (8646, "train"),
    "E00000004": (930, "test"),
    "E00000005": (7371, "train"),
    "E00000006": (5519, "train"),
    "E00000007": (3856, "valid"),
    "E00000008": (2587, "valid"),
}
DATES = [datetime(2025, 10, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)]


def _snapshots(ids: list[str]) -> pl.DataFrame:
    return pl.concat(
        pl.DataFrame(
            {
                "entity_id": ids,
                "label": [i % 3 == 0 for i in range(len(ids))],
                "as_of": [d] * len(ids),
            },
            schema_overrides={"label": pl.Int8},
        )
        for d in DATES
    )


def test_pinned_ids_keep_their_bucket_and_side() -> None:
    ids = list(PINNED)
    assert entity_buckets(pl.Series(ids), SEED).to_list() == [b for b, _ in PINNED.values()]
    others = [f"E{i:08d}" for i in range(9, 400)]
    split = split_snapshots(_snapshots(ids + others), seed=SEED)
    side = {
        **{e: "train" for e in split.train["entity_id"]},
        **{e: "valid" for e in split.valid["entity_id"]},
        **{e: "test" for e in split.test["entity_id"]},
    }
    assert {e: side[e] for e in PINNED} == {e: s for e, (_, s) in PINNED.items()}
    assert split.test["as_of"].unique().to_list() == [DATES[-1]]
    assert set(split.train["as_of"].unique()) == {DATES[0]}


def test_the_seed_keys_the_hash() -> None:
    ids = pl.Series([f"E{i:08d}" for i in range(200)])
    assert (entity_buckets(ids, SEED) != entity_buckets(ids, SEED + 1)).sum() > 150


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=30), st.randoms())
def test_a_bucket_depends_on_the_id_alone(ids: list[str], rng: object) -> None:
    shuffled = [*ids, *ids[: len(ids) // 2]]
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    alone = {e: entity_buckets(pl.Series([e]), SEED)[0] for e in ids}
    together = dict(zip(shuffled, entity_buckets(pl.Series(shuffled), SEED), strict=True))
    assert together == alone
    assert all(0 <= b < BUCKETS for b in alone.values())
