"""Reference data: sector profiles, jurisdiction lists and thresholds load and make sense."""

from __future__ import annotations

import re

import polars as pl

from flowrisk.reference import jurisdictions, sectors, sectors_version, thresholds

CASH_INTENSIVE = {"56.10C", "96.02A", "96.02B", "47.42Z", "45.20B", "47.11B", "56.30Z"}


def test_sectors_cover_cash_intensive_and_ordinary_trades() -> None:
    s = sectors()
    assert set(s.filter(pl.col("cash_intensive"))["code"]) == CASH_INTENSIVE
    assert s.filter(~pl.col("cash_intensive")).height >= 12
    assert s["code"].is_unique().all()
    assert s["code"].str.contains(r"^\d{2}\.\d{2}[A-Z]$").all()
    assert sectors_version()


def test_sector_values_are_in_range() -> None:
    s = sectors()
    assert s["cash_share"].is_between(0, 1).all()
    assert s["supplier_spend_ratio"].is_between(0, 1).all()
    assert (s["revenue_per_employee"] > 10_000).all()
    means = s.select(pl.col("seasonality").arr.mean())["seasonality"]
    assert ((means - 1).abs() < 0.02).all(), "seasonality multipliers must average 1"
    cash = s.filter(pl.col("cash_intensive"))["cash_share"].min()
    ordinary = s.filter(~pl.col("cash_intensive"))["cash_share"].median()
    assert cash > ordinary


def test_jurisdiction_lists_are_dated_iso_codes() -> None:
    j = jurisdictions()
    assert {"fatf_black", "fatf_grey", "eu_high_risk", "hubs"} <= set(j.lists)
    for lst in j.lists.values():
        assert lst.countries and all(re.fullmatch(r"[A-Z]{2}", c) for c in lst.countries)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", lst.as_of)
        assert lst.source
    assert {"KP", "IR", "MM"} <= j.high_risk
    assert "FR" not in j.watched
    assert "AE" in j.watched and "AE" not in j.high_risk


def test_french_thresholds() -> None:
    t = thresholds()
    assert t.cosi_cash_monthly == 10_000
    assert (t.remittance_cash_per_operation, t.remittance_cash_monthly) == (1_000, 2_000)
    assert t.cash_payment_limit == 1_000
    assert 0.5 < t.near_threshold_fraction < 1
    assert all(t.sources.values())


def test_country_codes_are_the_iso_list() -> None:
    from flowrisk.reference import countries
    from flowrisk.synth.world import COUNTRIES

    codes = countries()
    assert len(codes) == 250  # 249 official + XK
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in codes)
    assert set(COUNTRIES) <= codes
    assert jurisdictions().watched <= codes


def test_every_threshold_says_what_it_is_and_why() -> None:
    """flowrisk's own cut-offs sit beside the legal thresholds, each described and sourced;
    where a red flag and a rule read the same pattern with different cut-offs, both are named."""
    t = thresholds()
    assert set(t.sources) == set(t.descriptions)
    assert all(t.sources.values()) and all(t.descriptions.values())
    assert t.near_low(t.cosi_cash_monthly) == t.near_threshold_fraction * t.cosi_cash_monthly
    assert t.pass_through_ratio_low < 1 < t.pass_through_ratio_high
    assert t.pass_through_flag_min_inflow < t.pass_through_rule_min_inflow
    assert "red flag" in t.sources["pass_through_rule_min_inflow"]
    assert "rule" in t.sources["pass_through_flag_min_inflow"]
