"""Every feature on the tiny hand-built dataset, against values worked out by hand."""

from __future__ import annotations

import math

import polars as pl
import pytest

from flowrisk.features import build_profiles, catalog, feature_names, reference_baselines

from .test_amount_neighbourhood import EXPECTED as EXPECTED_AMOUNTS
from .test_timing import EXPECTED as EXPECTED_TIMING
from .tiny import AS_OF, assert_value, cases, tiny_frames

LOG = math.log
EXPECTED: dict[str, dict[str, float | None]] = {
    "P1": {
        "cash_deposit_sum_30d": 9_500,
        "cash_deposit_sum_90d": 10_400,
        "cash_deposit_sum_365d": 10_900,
        "cash_deposit_count_90d": 2,
        "cash_withdrawal_sum_90d": 200,
        "cash_share_inflow_90d": 10_400 / 12_400,
        "cash_share_inflow_365d": 10_900 / 12_900,
        "cash_near_cosi_months_365d": 1,
        "cash_near_limit_deposits_365d": 1,
        "cash_remittances_near_limit_365d": 1,
        "cash_round_deposit_share_365d": 2 / 3,
        "cash_distinct_branches_90d": 3,
        "cash_distinct_accounts_90d": 2,
        "flow_inflow_sum_90d": 12_400,
        "flow_outflow_sum_90d": 1_150,
        "flow_out_in_ratio_90d": 1_150 / 12_400,
        "flow_distinct_payers_90d": 1,
        "flow_distinct_payees_90d": 1,
        "flow_new_payer_share_90d": 1.0,
        "flow_median_hold_hours_90d": 120.0,
        "flow_txn_count_30d": 4,
        "geo_high_risk_share_365d": 950 / 14_050,
        "geo_watched_share_365d": 950 / 14_050,
        "geo_high_risk_count_365d": 1,
        "geo_distinct_countries_365d": 2,
        "net_degree_365d": 2,
    },
    "P2": {
        "crypto_onramp_sum_365d": 3_900,
        "crypto_offramp_sum_365d": 700,
        "crypto_risky_hops_365d": 2,
        "crypto_risky_2hop_365d": 1,
        "crypto_gambling_hops_365d": 1,
        "crypto_stablecoin_share_365d": 1_000 / (2 * 3_800 + 1_000 + 500 + 900 + 100),
        "crypto_cash_to_crypto_count_365d": 1,
    },
    "C1": {
        "biz_cash_share_z_365d": (9_000 / 13_000 - 0.35) / 0.12,
        "biz_supplier_ratio_z_365d": (2_000 / 13_000 - 0.35) / 0.15,
        "biz_inflow_per_employee_z_365d": (LOG(6_500) - LOG(75_000)) / 0.5,
        "biz_revenue_per_employee_z": (LOG(100_000) - LOG(75_000)) / 0.5,
        "biz_seasonality_gap_365d": None,
        "biz_takings_cv_365d": None,
        "biz_age_years": 1_826 / 365.25,
        "biz_closed": 0,
        "wealth_assets_to_income_3y": None,  # persons only
    },
    "P3": {
        "wealth_assets_value_3y": 30_000,
        "wealth_assets_via_links_3y": 120_000,
        "wealth_cash_paid_assets_3y": 120_000,
        "wealth_assets_to_income_3y": 7.5,
        "wealth_card_spend_to_income_365d": 0.05,
        "wealth_inflow_to_income_365d": 0.1,
        "wealth_cash_deposit_to_income_365d": 0.025,
        "biz_age_years": None,
    },
    "N1": {
        "net_degree_365d": 2,
        "net_cycles_365d": 2,
        "net_owners": 1,
        "net_shared_owner_companies": 1,
        "net_reported_counterparties_365d": 1,
        "net_reported_links": 1,
        "net_owned_companies": 0,
    },
    "O1": {"net_owned_companies": 2, "reports_count_365d": 1, "reports_declarants_total": 1},
    "R1": {
        "reports_count_365d": 2,
        "reports_declarants_365d": 2,
        "reports_suspicious_count_365d": 1,
        "reports_declarants_total": 2,
        "cash_deposit_sum_365d": 0,
        "flow_median_hold_hours_90d": None,
    },
}


@pytest.fixture(scope="module")
def profiles() -> pl.DataFrame:
    return build_profiles(tiny_frames(), AS_OF, reference_baselines()).collect()


@pytest.mark.parametrize(("entity", "feature"), cases(EXPECTED))
def test_feature_value(profiles: pl.DataFrame, entity: str, feature: str) -> None:
    assert_value(profiles, entity, feature, EXPECTED[entity][feature])


def test_every_feature_has_a_hand_checked_value() -> None:
    checked = {
        f
        for feats in (
            *EXPECTED.values(),
            *EXPECTED_AMOUNTS.values(),
            *EXPECTED_TIMING.values(),
        )
        for f in feats
    }
    assert set(feature_names()) <= checked, sorted(set(feature_names()) - checked)


def test_profile_layout(profiles: pl.DataFrame) -> None:
    assert profiles.columns == ["entity_id", "entity_type", *feature_names()]
    assert profiles.height == 12
    assert all(profiles.schema[f] == pl.Float64 for f in feature_names())


def test_catalog_is_well_formed() -> None:
    for f in catalog():
        assert f.name.startswith(f.family + "_")
        assert f.direction in (-1, 0, 1)
        assert f.unit == "flag" or "{value" in f.template
        assert ("{baseline" in f.template) == (f.baseline is not None)
        f.template.format(value=1.0, baseline=1.0)


def test_naive_as_of_is_refused() -> None:
    from datetime import datetime

    from flowrisk.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="as_of"):
        build_profiles(tiny_frames(), datetime(2025, 7, 1))
