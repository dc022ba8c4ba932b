"""The amount and neighbourhood families on a small hand-made world whose answers are worked out
by hand: M is paid by an employer (XE) and by B, pays B and a shop (XS), and moves money between
its own two accounts; B and C pay each other; C shops at XS."""

from __future__ import annotations

from statistics import mean, stdev
from typing import Any

import polars as pl
import pytest

from flowrisk.features import build_profiles, reference_baselines
from flowrisk.schema import INPUT_TABLES, TABLES

from .tiny import AS_OF, ago, assert_value, cases

PEOPLE = ("M", "B", "C")
_T: list[tuple[str, str, float, float]] = [
    # src, dst, amount, days before AS_OF
    ("XE", "AM", 1_000.0, 10),
    ("XE", "AM", 3_000.0, 40),
    ("AB", "AM", 9_500.0, 20),  # just under the COSI 10,000
    ("AM", "AB", 850.0, 5),  # just under the per-operation 1,000
    ("AM", "XS", 1_234.56, 8),
    ("AM", "XS", 1_600.0, 30),  # just under the monthly 2,000
    ("AM", "AM2", 5_000.0, 3),  # between M's own accounts: not with others
    ("XE", "AM", 777.0, 200),  # within the year, not within 90 days
    ("AC", "AB", 200.0, 15),
    ("AB", "AC", 300.0, 12),
    ("AC", "XS", 50.0, 60),
    ("AB", "AM", 5_000.0, -2),  # after the profile date: never counted
]


def frames() -> dict[str, pl.LazyFrame]:
    accounts: list[dict[str, Any]] = [
        {
            "account_id": a,
            "entity_id": e,
            "account_type": "current" if e else "external",
            "country": "FR",
            "institution_id": "FRBANK01",
            "risk_tags": [],
        }
        for a, e in (
            ("AM", "M"),
            ("AM2", "M"),
            ("AB", "B"),
            ("AC", "C"),
            ("XE", None),
            ("XS", None),
        )
    ]
    rows = {
        "entities": [
            {"entity_id": p, "entity_type": "person", "country": "FR", "declared_income": 30_000.0}
            for p in PEOPLE
        ],
        "accounts": accounts,
        "transactions": [
            {
                "txn_id": i + 1,
                "ts": ago(days),
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


IN_90 = [1_000.0, 3_000.0, 9_500.0]
OUT_90 = [850.0, 1_234.56, 1_600.0]
CP = {  # the counterparties' own 90 days: (degree, payers, amounts)
    "XE": (1, 0, [1_000.0, 3_000.0]),
    "AB": (2, 2, [9_500.0, 850.0, 200.0, 300.0]),
    "XS": (2, 2, [1_234.56, 1_600.0, 50.0]),
}
CVS = [stdev(a) / mean(a) for _, _, a in CP.values()]
MOVED = sum(IN_90) + sum(OUT_90)

EXPECTED: dict[str, dict[str, float | None]] = {
    "M": {
        "amount_in_count_90d": 3,
        "amount_in_min_90d": 1_000,
        "amount_in_median_90d": 3_000,
        "amount_in_mean_90d": 4_500,
        "amount_in_p90_90d": 3_000 + 0.8 * 6_500,
        "amount_in_max_90d": 9_500,
        "amount_in_cv_90d": stdev(IN_90) / mean(IN_90),
        "amount_in_median_365d": 2_000,
        "amount_in_cv_365d": stdev([777.0, *IN_90]) / mean([777.0, *IN_90]),
        "amount_out_count_90d": 3,
        "amount_out_min_90d": 850,
        "amount_out_median_90d": 1_234.56,
        "amount_out_mean_90d": 3_684.56 / 3,
        "amount_out_p90_90d": 1_234.56 + 0.8 * (1_600 - 1_234.56),
        "amount_out_max_90d": 1_600,
        "amount_out_cv_90d": stdev(OUT_90) / mean(OUT_90),
        "amount_out_median_365d": 1_234.56,
        "amount_out_cv_365d": stdev(OUT_90) / mean(OUT_90),
        "amount_round_share_90d": 4 / 6,  # 1,000, 3,000, 9,500 and 1,600
        "amount_near_cosi_share_90d": 1 / 6,
        "amount_near_remit_op_share_90d": 1 / 6,
        "amount_near_remit_month_share_90d": 1 / 6,
        "amount_top_counterparty_share_90d": (9_500 + 850) / MOVED,
        "neighbourhood_cp_degree_max_90d": 2,
        "neighbourhood_cp_fanin_max_90d": 2,
        "neighbourhood_cp_amount_median_max_90d": 2_000,
        "neighbourhood_cp_amount_cv_max_90d": max(CVS),
        "neighbourhood_cp_txn_count_max_90d": 4,
        "neighbourhood_two_hop_reach_90d": 1,  # C, through B and the shop (M's own left out)
    },
    "C": {
        "amount_in_count_90d": 1,
        "amount_in_cv_90d": None,  # one amount has no spread
        "amount_out_count_90d": 2,
        "amount_round_share_90d": 2 / 3,  # 200 and 300, not 50
        "amount_top_counterparty_share_90d": 500 / 550,
        "neighbourhood_cp_degree_max_90d": 2,
        "neighbourhood_two_hop_reach_90d": 1,  # M (the shop's and B's other counterparty)
    },
}


@pytest.fixture(scope="module")
def profiles() -> pl.DataFrame:
    return build_profiles(frames(), AS_OF, reference_baselines()).collect()


@pytest.mark.parametrize(("entity", "feature"), cases(EXPECTED))
def test_feature_value(profiles: pl.DataFrame, entity: str, feature: str) -> None:
    assert_value(profiles, entity, feature, EXPECTED[entity][feature])


def test_row_order_does_not_change_a_value() -> None:
    """Exact and deterministic: the same transactions in reverse order give the same profile."""
    f = frames()
    reversed_ = {**f, "transactions": f["transactions"].reverse()}
    a = build_profiles(f, AS_OF).collect().sort("entity_id")
    b = build_profiles(reversed_, AS_OF).collect().sort("entity_id")
    assert a.equals(b)


def test_a_hub_is_not_followed_for_two_hop_reach() -> None:
    """A counterparty with more counterparties than the cut-off adds nothing to the reach."""
    from flowrisk.reference import thresholds

    f = frames()
    tx = f["transactions"].collect()
    hub = int(thresholds().two_hop_max_degree) + 1
    extra = pl.DataFrame(
        [
            {**tx.row(0, named=True), "txn_id": 100 + k, "dst_account_id": f"Z{k}"}
            for k in range(hub)
        ],
        schema=tx.schema,
    )  # the employer XE now pays many other accounts
    more = {**f, "transactions": pl.concat([tx, extra]).lazy()}
    m = build_profiles(more, AS_OF).collect().filter(pl.col("entity_id") == "M")
    assert m["neighbourhood_two_hop_reach_90d"].item() == 1
    assert m["neighbourhood_cp_degree_max_90d"].item() == hub + 1
