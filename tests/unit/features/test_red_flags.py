"""Red flags on the hand-built tiny dataset: each fact checked by hand, evidence ids exact."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from flowrisk.features import red_flags
from tests.unit.features.tiny import AS_OF, tiny_frames


def test_red_flags_by_hand() -> None:
    frames = tiny_frames()
    ids = frames["entities"].collect()["entity_id"].to_list()
    flags = red_flags(frames, AS_OF, ids)
    got = {(r["entity_id"], r["flag"]): r for r in flags.iter_rows(named=True)}
    assert set(got) == {
        ("N1", "round_trips"),  # 5,000 EUR to N2 and 1,500 EUR back (the 500 EUR is too small)
        ("N2", "round_trips"),
        ("P1", "high_risk_jurisdictions"),  # 950 EUR remitted to Iran
        ("P2", "risky_wallets"),  # 1,000 EUR to a mixer and 900 EUR back from it
        ("P4", "assets_over_income"),  # 100,000 EUR of assets on 25,000 EUR a year
        ("R1", "several_declarants"),  # two declarants within the year (a third is older)
    }
    assert got[("N1", "round_trips")]["evidence"] == ["txn:25", "txn:28"]
    assert "(5,000 EUR sent out to them)" in got[("N1", "round_trips")]["text"]
    assert got[("P1", "high_risk_jurisdictions")]["text"] == (
        "1 transfer (950 EUR) with high-risk jurisdictions: IR"
    )
    assert got[("P2", "risky_wallets")]["evidence"] == ["txn:12", "txn:15"]  # largest first
    assert got[("P4", "assets_over_income")]["evidence"] == ["asset:AS2"]
    assert got[("R1", "several_declarants")]["evidence"] == ["report:R-1", "report:R-2"]
    assert all(flags["family"].is_in(["net", "geo", "crypto", "wealth", "reports"]))


def test_structuring_months_and_small_deposits() -> None:
    """Two months of several cash deposits each totalling just under 10,000 EUR, and three
    deposits just under 1,000 EUR, on an otherwise quiet person."""
    frames = tiny_frames()
    tx = frames["transactions"].collect()
    rows = [
        (AS_OF - timedelta(days=days), amount)
        for days, amount in [
            (40, 4_000.0),
            (41, 4_500.0),
            (70, 3_000.0),
            (72, 3_000.0),
            (74, 3_000.0),
            (100, 950.0),
            (120, 990.0),
            (130, 850.0),
        ]
    ]  # day 40/41 in May, 70-74 in April: 8,500 and 9,000 EUR
    extra = pl.DataFrame(
        [
            {
                "txn_id": 1000 + i,
                "ts": ts,
                "src_account_id": None,
                "dst_account_id": "A3",
                "amount": amount,
                "channel": "cash",
                "currency_original": "EUR",
                "branch_id": "BR09",
            }
            for i, (ts, amount) in enumerate(rows)
        ],
        schema=tx.schema,
    )
    frames = {**frames, "transactions": pl.concat([tx, extra]).lazy()}
    flags = red_flags(frames, AS_OF, ["P3"]).filter(pl.col("family") == "cash")
    got = {r["flag"]: r for r in flags.iter_rows(named=True)}
    assert got["cash_just_under_cosi"]["text"].startswith("5 cash deposits in 2 months")
    assert sorted(got["cash_just_under_cosi"]["evidence"]) == sorted(
        f"txn:{1000 + i}" for i in range(5)
    )
    assert got["cash_just_under_1000"]["text"] == (
        "3 cash deposits between 800 and 999 EUR in a year"
    )
    assert got["cash_just_under_1000"]["evidence"] == ["txn:1006", "txn:1005", "txn:1007"]
