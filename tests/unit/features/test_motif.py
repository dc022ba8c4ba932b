"""The motif family on small hand-made worlds whose answers are worked out by hand.

Each story is on its own accounts: a cycle A -> B -> C -> A within 5 days (80 of 100 EUR come
back); a cycle E -> F -> G -> E closed a day after the cycle window; a U-turn U -> V -> U (300
of 500 EUR back within 3 days) and one W -> Y -> W closed 8 days later, outside its 7-day
window; H paid by 5 different people on one day (a fan-in); a scatter-gather
S -> (M0, M1, M2) -> T; and payments after the profile date that must never be seen. Times are
days before ``AS_OF``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from flowrisk.features import frames_for_entities
from flowrisk.features.context import make_context
from flowrisk.features.families import motif
from flowrisk.features.families.motif import FEATURES, sliding_distinct_max
from flowrisk.features.families.motif_paths import CYCLE_DAYS
from flowrisk.schema import INPUT_TABLES, TABLES

from .tiny import assert_value, cases

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)

_T: list[tuple[str, str, float, float]] = [
    # src, dst, amount, days before AS_OF
    ("A", "B", 100.0, 200.0),  # a 3-cycle months before the profile date, within 5 days
    ("B", "C", 90.0, 198.0),
    ("C", "A", 80.0, 195.0),
    ("E", "F", 100.0, 100.0),  # the same shape, closed too late
    ("F", "G", 100.0, 96.0),
    ("G", "E", 100.0, 100.0 - CYCLE_DAYS - 1.0),  # closed a day after the window
    ("W", "Y", 100.0, 150.0),  # money back 8 days later: outside the 7-day U-turn window
    ("Y", "W", 100.0, 142.0),
    *((f"P{i}", "H", 50.0, 30.0 - i / 10) for i in range(5)),  # five payers within one day
    ("P0", "H", 50.0, 10.0),  # a payer again, later: still five distinct
    ("U", "V", 500.0, 40.0),  # a U-turn: 300 of 500 come back within 3 days
    ("V", "U", 300.0, 37.0),
    *(("S", f"M{i}", 100.0, 60.0) for i in range(3)),  # scatter ...
    *((f"M{i}", "T", 95.0, 58.0) for i in range(3)),  # ... then gather within days
    *(("X", "A", 1_000.0 * (i + 1), -1.0 - i) for i in range(3)),  # after the profile date
    *(("X", "H", 1.0, -0.5) for _ in range(1)),
    ("C", "A", 999.0, -0.2),
]
NAMES = sorted({a for row in _T for a in row[:2]})


def world(shift: timedelta = timedelta(0)) -> dict[str, pl.LazyFrame]:
    """Each account held by the entity of the same name; every time moved by ``shift``."""
    rows: dict[str, list[dict[str, Any]]] = {
        "entities": [{"entity_id": n, "entity_type": "person", "country": "FR"} for n in NAMES],
        "accounts": [
            {
                "account_id": n,
                "entity_id": n,
                "account_type": "current",
                "country": "FR",
                "institution_id": "FRBANK01",
                "risk_tags": [],
            }
            for n in NAMES
        ],
        "transactions": [
            {
                "txn_id": i + 1,
                "ts": AS_OF - timedelta(days=days) + shift,
                "src_account_id": src,
                "dst_account_id": dst,
                "amount": amount,
                "channel": "wire",
                "currency_original": "EUR",
                "branch_id": None,
            }
            for i, (src, dst, amount, days) in enumerate(_T)
        ],
    }
    return {t: pl.DataFrame(rows.get(t, []), schema=TABLES[t].schema).lazy() for t in INPUT_TABLES}


EXPECTED: dict[str, dict[str, float | None]] = {
    "A": {"motif_cycle_count_14d_365d": 1, "motif_cycle_share_14d_365d": 80 / 100},
    "H": {
        "motif_fanin_max_1d_365d": 5,
        "motif_fanin_max_7d_365d": 5,
        "motif_fanout_max_7d_365d": 0,
    },
    "P3": {"motif_cp_fanin_max_7d_365d": 5},
    "U": {"motif_uturn_count_7d_365d": 1, "motif_uturn_share_7d_365d": 300 / 500},
    "S": {"motif_scatter_gather_out_max_7d_365d": 3, "motif_fanout_max_1d_365d": 3},
    "T": {
        "motif_scatter_gather_in_max_7d_365d": 3,
        "motif_fanin_max_7d_365d": 3,
        "motif_cp_fanout_max_7d_365d": 1,  # each intermediary paid T alone
    },
    "M1": {
        "motif_pass_through_share_7d_365d": 95 / 100,
        "motif_gather_scatter_max_7d_365d": 1,
        "motif_cp_fanout_max_7d_365d": 3,  # S paid three accounts on one day
    },
}


def motif_profiles(
    frames: dict[str, pl.LazyFrame], as_of: datetime, entities: list[str] | None = None
) -> pl.LazyFrame:
    """The family's features of every entity (or of ``entities``), counts of absent events as
    0 as the feature path fills them (the family is not in the feature set yet, see
    ``flowrisk.features.families.motif``)."""
    ctx = make_context(frames, as_of, {}, entities)
    rows = frames["entities"].select("entity_id")
    if entities is not None:
        rows = rows.filter(pl.col("entity_id").is_in(entities))
    return rows.join(motif.compute(ctx), on="entity_id", how="left").select(
        "entity_id",
        *(
            pl.col(f.name).cast(pl.Float64).fill_null(0.0)
            if f.unit == "count"
            else pl.col(f.name).cast(pl.Float64)
            for f in FEATURES
        ),
    )


@pytest.mark.parametrize(("entity", "feature"), cases(EXPECTED))
def test_feature_value(table: pl.DataFrame, entity: str, feature: str) -> None:
    assert_value(table, entity, feature, EXPECTED[entity][feature])


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return motif_profiles(world(), AS_OF).collect()


@pytest.fixture(scope="module")
def profiles() -> dict[str, dict[str, Any]]:
    df = motif_profiles(world(), AS_OF).collect()
    return {r["entity_id"]: r for r in df.to_dicts()}


def test_a_three_cycle_within_days_is_found_with_its_returned_share(
    profiles: dict[str, dict[str, Any]],
) -> None:
    a = profiles["A"]
    assert a["motif_cycle_count_14d_365d"] == 1
    assert a["motif_cycle_share_14d_365d"] == pytest.approx(80 / 100)
    # B and C each started no cycle of their own: B's payment to C came before C's to A, but
    # nothing came back to B
    assert profiles["B"]["motif_cycle_count_14d_365d"] == 0


def test_a_cycle_closed_after_the_window_is_not_found(profiles: dict[str, dict[str, Any]]) -> None:
    e = profiles["E"]
    assert e["motif_cycle_count_14d_365d"] == 0
    assert e["motif_cycle_share_14d_365d"] is None or e["motif_cycle_share_14d_365d"] == 0


def test_money_back_after_the_window_is_no_u_turn(profiles: dict[str, dict[str, Any]]) -> None:
    assert profiles["W"]["motif_uturn_count_7d_365d"] == 0
    assert profiles["U"]["motif_uturn_count_7d_365d"] == 1


def test_a_fan_in_of_five_payers_in_a_day(profiles: dict[str, dict[str, Any]]) -> None:
    h = profiles["H"]
    assert h["motif_fanin_max_1d_365d"] == 5
    assert h["motif_fanin_max_7d_365d"] == 5
    assert h["motif_fanout_max_7d_365d"] == 0
    # each payer sees a counterparty with a weekly fan-in of five
    assert profiles["P3"]["motif_cp_fanin_max_7d_365d"] == 5


def test_a_u_turn_is_found_with_the_money_that_came_back(
    profiles: dict[str, dict[str, Any]],
) -> None:
    u = profiles["U"]
    assert u["motif_uturn_count_7d_365d"] == 1
    assert u["motif_uturn_share_7d_365d"] == pytest.approx(300 / 500)
    assert profiles["V"]["motif_uturn_count_7d_365d"] == 0  # V was paid first


def test_scatter_gather_counts_the_intermediaries(profiles: dict[str, dict[str, Any]]) -> None:
    assert profiles["S"]["motif_scatter_gather_out_max_7d_365d"] == 3
    assert profiles["T"]["motif_scatter_gather_in_max_7d_365d"] == 3
    assert profiles["S"]["motif_fanout_max_1d_365d"] == 3
    assert profiles["T"]["motif_fanin_max_7d_365d"] == 3
    # each intermediary received and paid on within the week: all of it passed through
    assert profiles["M1"]["motif_pass_through_share_7d_365d"] == pytest.approx(95 / 100)
    assert profiles["M1"]["motif_gather_scatter_max_7d_365d"] == 1


def test_nothing_after_the_profile_date_is_used(profiles: dict[str, dict[str, Any]]) -> None:
    """The payments after AS_OF change nothing: the profiles equal those of a world without them."""
    kept = {k: v for k, v in world().items()}
    kept["transactions"] = kept["transactions"].filter(pl.col("ts") < AS_OF)
    before = motif_profiles(kept, AS_OF).collect()
    cols = [c for c in before.columns if c.startswith("motif_")]
    now = pl.DataFrame(list(profiles.values())).select("entity_id", *cols).sort("entity_id")
    assert now.equals(before.select("entity_id", *cols).sort("entity_id"))
    assert profiles["X"]["motif_fanout_max_7d_365d"] == 0


def test_an_entity_s_lookup_sees_the_same_motifs_as_the_batch(
    profiles: dict[str, dict[str, Any]],
) -> None:
    """Within two hops: the frames of one entity's neighbourhood give it the same motifs."""
    frames = world()
    for entity in ("A", "H", "P3", "S", "T", "U"):
        sub = frames_for_entities(frames, [entity], AS_OF)
        row = motif_profiles(sub, AS_OF, [entity]).collect().to_dicts()[0]
        motifs = {k: v for k, v in row.items() if k.startswith("motif_")}
        assert motifs == {k: profiles[entity][k] for k in motifs}, entity


def test_the_same_world_moved_in_time_gives_the_same_motifs() -> None:
    """Reproducible: moving every time and the profile date by the same span changes nothing
    (week grids aside, which a whole number of weeks keeps)."""
    shift = timedelta(days=21)
    a = motif_profiles(world(), AS_OF).collect()
    b = motif_profiles(world(shift), AS_OF + shift).collect()
    cols = ["entity_id", *(c for c in a.columns if c.startswith("motif_"))]
    assert a.select(cols).sort("entity_id").equals(b.select(cols).sort("entity_id"))


def test_sliding_distinct_max_counts_each_counterparty_once_per_window() -> None:
    rows = pl.LazyFrame(
        {
            "k": ["a"] * 6,
            "cp": ["x", "x", "y", "z", "x", "w"],
            "day": [0, 2, 3, 9, 12, 15],
            "side": ["i"] * 6,
        },
        schema_overrides={"day": pl.Int32},
    )
    got = sliding_distinct_max(rows, "k", 7, ["i"]).collect()
    # days 0-6: x, y (2); days 9-15: z, x, w (3)
    assert got["i"].to_list() == [3]
    assert sliding_distinct_max(rows, "k", 1, ["i"]).collect()["i"].to_list() == [1]


def test_every_motif_feature_has_a_hand_checked_value() -> None:
    checked = {f for feats in EXPECTED.values() for f in feats}
    assert {f.name for f in FEATURES} <= checked
