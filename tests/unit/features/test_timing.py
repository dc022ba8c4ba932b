"""The timing family on a small hand-made world whose answers are worked out by hand.

T is paid by an employer (XE) at 09:00 and pays a shop (XS) late at night, with a 120-day quiet
spell in its year; R is paid every seven days at noon, like clockwork; Q is paid every ten days
at midnight; D wakes up after 250 quiet days and moves 12,000 EUR in a week;
S only moves money between its own two accounts. Times are days (and hours) before ``AS_OF``
(a Tuesday, midnight UTC)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from statistics import mean, pstdev
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowrisk.features import build_profiles, reference_baselines, rules
from flowrisk.features.families import timing
from flowrisk.reference import thresholds
from flowrisk.schema import INPUT_TABLES, TABLES

from .tiny import AS_OF, assert_value, cases

PEOPLE = ("T", "R", "Q", "D", "S")
PRIOR = thresholds().surge_prior_events
_T: list[tuple[str, str, float, int, int]] = [
    # src, dst, amount, days before AS_OF, hour of the day (UTC)
    ("XE", "AT", 1_000.0, 200, 9),
    ("XE", "AT", 1_000.0, 80, 9),  # after 120 quiet days: T wakes up
    ("XE", "AT", 1_000.0, 60, 9),
    ("AT", "XS", 500.0, 40, 23),
    ("XE", "AT", 1_000.0, 20, 9),
    ("AT", "XS", 2_000.0, 5, 2),
    ("AT", "AT2", 300.0, 3, 9),  # between T's own accounts: not activity
    ("XE", "AT", 9_999.0, 400, 9),  # beyond the year
    ("XE", "AT", 9_999.0, -1, 9),  # after the profile date: never counted
    *(("XE", "AR", 500.0, d, 12) for d in (7, 14, 21, 28, 35)),
    *(("XE", "AQ", 700.0, d, 0) for d in (10, 20, 30)),
    ("XE", "AD", 100.0, 300, 10),
    ("XE", "AD", 6_000.0, 50, 10),  # after 250 quiet days
    ("AD", "XS", 6_000.0, 45, 10),
    ("XE", "AD", 50.0, 10, 10),  # 40 days after the wake-up: no longer counted
    ("AS", "AS2", 800.0, 12, 15),
    ("AS2", "AS", 800.0, 11, 15),
]


def ts(days: int, hour: int) -> datetime:
    return AS_OF - timedelta(days=days) + timedelta(hours=hour)


def _wire(txn_id: int, src: str, dst: str, amount: float, moment: datetime) -> dict[str, Any]:
    """One euro wire transfer row of the transactions table."""
    return {
        "txn_id": txn_id,
        "ts": moment,
        "src_account_id": src,
        "dst_account_id": dst,
        "amount": amount,
        "channel": "wire",
        "currency_original": "EUR",
        "branch_id": None,
    }


def frames(shift: timedelta = timedelta(0)) -> dict[str, pl.LazyFrame]:
    """The world, every time moved by ``shift``."""
    owners = {"AT": "T", "AT2": "T", "AR": "R", "AQ": "Q", "AD": "D", "AS": "S", "AS2": "S"}
    accounts: list[dict[str, Any]] = [
        {
            "account_id": a,
            "entity_id": owners.get(a),
            "account_type": "current" if a in owners else "external",
            "country": "FR",
            "institution_id": "FRBANK01",
            "risk_tags": [],
        }
        for a in (*owners, "XE", "XS")
    ]
    rows = {
        "entities": [
            {"entity_id": p, "entity_type": "person", "country": "FR", "declared_income": 30_000.0}
            for p in PEOPLE
        ],
        "accounts": accounts,
        "transactions": [
            _wire(i + 1, src, dst, amount, ts(days, hour) + shift)
            for i, (src, dst, amount, days, hour) in enumerate(_T)
        ],
    }
    return {t: pl.DataFrame(rows.get(t, []), schema=TABLES[t].schema).lazy() for t in INPUT_TABLES}


def burstiness(gaps: list[float]) -> float:
    sd, m = pstdev(gaps), mean(gaps)
    return (sd - m) / (sd + m)


def surge(recent: float, year: float, count: int, days: int) -> float:
    """(recent + p * share) / (year + p) / share, p imagined transactions of the mean amount."""
    share, prior = days / 365, PRIOR * year / count
    return (recent + prior * share) / (year + prior) / share


T_TIMES = [ts(d, h) for d, h in [(200, 9), (80, 9), (60, 9), (40, 23), (20, 9), (5, 2)]]
T_GAPS = [(b - a) / timedelta(days=1) for a, b in pairwise(T_TIMES)]
T_MOVED = 6_500.0

EXPECTED: dict[str, dict[str, float | None]] = {
    "T": {
        "timing_burstiness_90d": burstiness(T_GAPS[1:]),  # from day 80 on
        "timing_burstiness_365d": burstiness(T_GAPS),
        "timing_in_burstiness_90d": (10 - 30) / (10 + 30),  # gaps of 20 and 40 days
        "timing_in_burstiness_365d": burstiness([120, 20, 40]),
        "timing_active_days_30d": 2,  # days 20 and 5
        "timing_active_days_90d": 5,
        "timing_active_days_365d": 6,
        "timing_active_day_share_90d": 5 / 90,
        "timing_active_day_share_365d": 6 / 200,  # first transaction 199.6 days ago
        "timing_longest_quiet_days_365d": 120,
        "timing_after_dormancy_sum_365d": 2_000,  # days 80 and 60 (day 40 is 40.6 days on)
        "timing_after_dormancy_share_365d": 2_000 / T_MOVED,
        "timing_count_surge_7d": surge(1, 6, 6, 7),
        "timing_count_surge_30d": surge(2, 6, 6, 30),
        "timing_amount_surge_7d": surge(2_000, T_MOVED, 6, 7),
        "timing_amount_surge_30d": surge(3_000, T_MOVED, 6, 30),
        "timing_busiest_weekday_share_365d": 2 / 6,  # Fridays (days 200, 60), Thursdays (40, 5)
    },
    "R": {
        "timing_burstiness_90d": -1.0,  # like clockwork
        "timing_in_burstiness_365d": -1.0,
        "timing_active_days_30d": 4,
        "timing_active_day_share_90d": 5 / 35,
        "timing_longest_quiet_days_365d": 7,
        "timing_after_dormancy_sum_365d": 0,
        "timing_after_dormancy_share_365d": 0,
        "timing_count_surge_30d": surge(4, 5, 5, 30),
        "timing_busiest_weekday_share_365d": 1.0,  # every Tuesday
    },
    "Q": {
        "timing_burstiness_365d": -1.0,
        "timing_busiest_weekday_share_365d": 1 / 3,
        "timing_longest_quiet_days_365d": 10,
    },
    "D": {
        "timing_longest_quiet_days_365d": 250,
        "timing_after_dormancy_sum_365d": 12_000,
        "timing_after_dormancy_share_365d": 12_000 / 12_150,
        "timing_burstiness_365d": burstiness([250, 5, 35]),
        "timing_in_burstiness_365d": burstiness([250, 40]),
    },
    "S": {  # only transfers between its own accounts
        "timing_active_days_365d": 0,
        "timing_after_dormancy_sum_365d": 0,
        "timing_burstiness_365d": None,
        "timing_longest_quiet_days_365d": None,
        "timing_count_surge_7d": None,
        "timing_busiest_weekday_share_365d": None,
    },
}


@pytest.fixture(scope="module")
def profiles() -> pl.DataFrame:
    return build_profiles(frames(), AS_OF, reference_baselines()).collect()


@pytest.mark.parametrize(("entity", "feature"), cases(EXPECTED))
def test_feature_value(profiles: pl.DataFrame, entity: str, feature: str) -> None:
    assert_value(profiles, entity, feature, EXPECTED[entity][feature])


def test_every_timing_feature_is_checked_on_t() -> None:
    assert set(EXPECTED["T"]) == {f.name for f in timing.FEATURES}


def test_a_new_entity_does_not_explode() -> None:
    """Ten payments in its first three days: a surge well under the unsmoothed 365 / 7."""
    f = frames()
    tx = f["transactions"].collect()
    new = pl.DataFrame(
        [
            {**tx.row(0, named=True), "txn_id": 100 + k, "dst_account_id": "AS", "ts": ts(3, k)}
            for k in range(10)
        ],
        schema=tx.schema,
    )
    s = build_profiles({**f, "transactions": pl.concat([tx, new]).lazy()}, AS_OF, entities=["S"])
    value = s.collect()["timing_count_surge_7d"].item()
    assert value == pytest.approx((10 + PRIOR * 7 / 365) / (10 + PRIOR) * 365 / 7)
    assert value < 365 / 7 / 2


def test_dormant_reactivated_rule() -> None:
    """D moves 12,000 EUR within a week of waking up after 250 quiet days; T only 2,000 EUR."""
    assert 2_000 < thresholds().dormant_min_amount <= 12_000
    p = build_profiles(frames(), AS_OF).collect().sort("entity_id")
    tripped = p.select("entity_id", rules()["dormant_reactivated"].alias("hit"))
    assert tripped.filter("hit")["entity_id"].to_list() == ["D"]


@settings(max_examples=15, deadline=None)
@given(days=st.integers(-3_000, 3_000), hours=st.integers(0, 23))
def test_moving_every_time_by_whole_days_changes_nothing(days: int, hours: int) -> None:
    """The profile date and every transaction moved by whole days: the same features (a weekday
    maps onto another weekday). Moved by hours too, only the weekday share may change."""
    cols = [f.name for f in timing.FEATURES]
    base = build_profiles(frames(), AS_OF).collect().select("entity_id", *cols)
    shift = timedelta(days=days)
    moved = build_profiles(frames(shift), AS_OF + shift).collect().select("entity_id", *cols)
    assert moved.equals(base)
    shift += timedelta(hours=hours)
    odd = build_profiles(frames(shift), AS_OF + shift).collect()
    keep = [c for c in cols if c != "timing_busiest_weekday_share_365d"]
    assert odd.select("entity_id", *keep).equals(base.select("entity_id", *keep))


@settings(max_examples=25, deadline=None)
@given(
    events=st.lists(
        st.tuples(st.integers(0, 364 * 24 * 60), st.booleans(), st.integers(1, 10**6)),
        min_size=0,
        max_size=40,
    )
)
def test_values_stay_in_range_and_burstiness_is_goh_barabasi(
    events: list[tuple[int, bool, int]],
) -> None:
    """Random minutes of the year, in and out: shares in [0, 1], burstiness in [-1, 1] and equal
    to (sd - mean) / (sd + mean) of the gaps, surges at most 365 / days."""
    rows = [
        ("XE", "AT", cents / 100, AS_OF - timedelta(minutes=minute + 1))
        if inbound
        else ("AT", "XS", cents / 100, AS_OF - timedelta(minutes=minute + 1))
        for minute, inbound, cents in events
    ]
    f = frames()
    tx = pl.DataFrame(
        [
            _wire(i + 1, src, dst, amount, moment)
            for i, (src, dst, amount, moment) in enumerate(rows)
        ],
        schema=TABLES["transactions"].schema,
    )
    p = (
        build_profiles({**f, "transactions": tx.lazy()}, AS_OF, entities=["T"])
        .collect()
        .row(0, named=True)
    )
    for name in (f.name for f in timing.FEATURES):
        value = p[name]
        if value is None:
            continue
        if "share" in name:
            assert 0 <= value <= 1 + 1e-12, name
        if "burstiness" in name:
            assert -1 - 1e-12 <= value <= 1 + 1e-12, name
        if "surge" in name:
            assert 0 < value <= 365 / int(name.rsplit("_", 1)[1][:-1]) + 1e-9, name
    times = sorted(r[3] for r in rows)
    gaps = [(b - a) / timedelta(days=1) for a, b in pairwise(times)]
    if len(times) >= 3 and sum(gaps) > 0:
        assert p["timing_burstiness_365d"] == pytest.approx(burstiness(gaps), abs=1e-9)
    else:
        assert p["timing_burstiness_365d"] is None
    assert p["timing_active_days_365d"] == len({(AS_OF - t) // timedelta(days=1) for t in times})
