"""Red flags and rules in the feature layer: the catalog's feature -> flag links name real
features and flags, every flag is raised on hand-built stories, and the flag and the rule of
pass-through share their definition but keep their own (named) amount cut-offs."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.features import (
    Feature,
    build_profiles,
    catalog,
    check_evidence_links,
    evidence_links,
    feature_names,
    red_flag_catalog,
    red_flags,
    reference_baselines,
    rules,
)
from flowrisk.features.families import FAMILIES
from flowrisk.reference import thresholds

from .tiny import AS_OF, tiny_frames

PACKAGE = Path(__file__).resolve().parents[3] / "flowrisk"


def _with(frames: dict[str, pl.LazyFrame], rows: list[tuple]) -> dict[str, pl.LazyFrame]:
    """The tiny frames plus transactions (src, dst, amount, channel, days before AS_OF)."""
    tx = frames["transactions"].collect()
    extra = pl.DataFrame(
        [
            {
                "txn_id": 2000 + i,
                "ts": AS_OF - timedelta(days=days),
                "src_account_id": src,
                "dst_account_id": dst,
                "amount": amount,
                "channel": channel,
                "currency_original": "EUR",
                "branch_id": "BR09" if channel == "cash" else None,
            }
            for i, (src, dst, amount, channel, days) in enumerate(rows)
        ],
        schema=tx.schema,
    )
    return {**frames, "transactions": pl.concat([tx, extra]).lazy()}


def _funnel(received_each: float, sent: float) -> list[tuple]:
    """Five payers paying P3 ``received_each`` and ``sent`` going on to one payee (on top of
    P3's own 2,000 EUR in and 1,000 EUR out)."""
    return [(f"XP{k}", "A3", received_each, "wire", 30 + k) for k in range(5)] + [
        ("A3", "XM", sent, "wire", 20)
    ]


def test_every_evidence_link_names_a_feature_and_a_flag_of_its_family() -> None:
    links = evidence_links()
    family = {f.name: f.family for f in catalog()}
    flags = {g.name: g.family for g in red_flag_catalog()}
    assert len(links) >= len(flags)  # every flag backs at least one feature
    assert set(links.values()) == set(flags)
    for feature, flag in links.items():
        assert feature in feature_names()
        assert flags[flag] == family[feature]


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ({"cash_near_cosi_months": "cash_just_under_cosi"}, "not a feature"),
        ({"cash_near_cosi_months_365d": "cash_just_under_10k"}, "no red flag is named"),
        ({"geo_high_risk_share_365d": "round_trips"}, "belongs to net"),
    ],
)
def test_a_wrong_name_in_the_links_fails(links: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        check_evidence_links(links, catalog(), red_flag_catalog())


def test_a_feature_declared_with_a_misspelt_flag_fails() -> None:
    typo = Feature("cash_x_365d", "cash", "x", "count", "365d", 1, "{value}", red_flag="cash_typo")
    with pytest.raises(InvalidParameter, match="cash_typo"):
        check_evidence_links({typo.name: "cash_typo"}, [*catalog(), typo], red_flag_catalog())


def test_every_flag_of_the_catalog_is_raised_on_the_tiny_stories() -> None:
    """The tiny dataset's stories, plus two months of split cash (P2) and a funnel (P3)."""
    deposits = [(40, 4_000.0), (41, 4_500.0), (70, 3_000.0), (72, 3_000.0), (74, 3_000.0)]
    deposits += [(100, 950.0), (120, 990.0), (130, 850.0)]
    cash = [(None, "A2", amount, "cash", days) for days, amount in deposits]
    frames = _with(tiny_frames(), cash + _funnel(3_000.0, 15_500.0))
    ids = frames["entities"].collect()["entity_id"].to_list()
    raised = set(red_flags(frames, AS_OF, ids)["flag"])
    assert raised == {g.name for g in red_flag_catalog()}


def test_pass_through_flag_and_rule_keep_their_own_cut_offs() -> None:
    """17,000 EUR in from six payers and 97 % sent on: a red flag (from 10,000 EUR), not yet
    the rule (above 20,000 EUR); 27,000 EUR: both. The ratio band is the same for both."""
    t = thresholds()
    assert t.pass_through_flag_min_inflow < 17_000 < t.pass_through_rule_min_inflow < 27_000
    rule = rules()["pass_through"].fill_null(False)
    for each, sent, flag, tripped in [
        (3_000.0, 15_500.0, True, False),
        (5_000.0, 25_000.0, True, True),
    ]:
        frames = _with(tiny_frames(), _funnel(each, sent))
        flags = red_flags(frames, AS_OF, ["P3"])
        assert ("pass_through" in set(flags["flag"])) is flag
        profile = build_profiles(frames, AS_OF, reference_baselines(), ["P3"]).collect()
        assert profile.select(rule).item() is tripped
    # money kept: neither (half sent on, under the shared band)
    frames = _with(tiny_frames(), _funnel(5_000.0, 12_500.0))
    assert "pass_through" not in set(red_flags(frames, AS_OF, ["P3"])["flag"])
    profile = build_profiles(frames, AS_OF, reference_baselines(), ["P3"]).collect()
    assert profile.select(rule).item() is False


def test_rules_read_catalog_features_and_have_distinct_names() -> None:
    conditions = rules()
    assert sum(len(family.rules()) for family in FAMILIES) == len(conditions)
    for name, condition in conditions.items():
        assert set(condition.meta.root_names()) <= set(feature_names()), name


def test_cash_deposit_is_one_definition() -> None:
    """A cash-channel payment between two accounts is no deposit: neither the cash features
    nor the cash red flags count it."""
    rows = [("XW", "A3", 9_500.0, "cash", 10), ("XW", "A3", 9_000.0, "cash", 45)]
    rows += [("XW", "A3", a, "cash", d) for d, a in [(11, 990.0), (12, 980.0), (13, 970.0)]]
    frames = _with(tiny_frames(), rows)
    profile = build_profiles(frames, AS_OF, reference_baselines(), ["P3"]).collect()
    assert profile["cash_deposit_sum_365d"].item() == 500.0  # the one real deposit
    assert profile["cash_near_limit_deposits_365d"].item() == 0
    assert red_flags(frames, AS_OF, ["P3"]).filter(pl.col("family") == "cash").is_empty()


THRESHOLD_LITERAL = re.compile(r"(?<![\d_,.])(10|1)[_,]?000(?:\.0)?(?![\d_,])")


def test_no_reporting_threshold_is_written_in_the_code() -> None:
    """The COSI 10,000 EUR and 1,000 EUR limits (and texts quoting them) come from
    ``reference/thresholds.toml``, never from a literal, in the features and the modules that
    explain and report their values."""
    models = [PACKAGE / "models" / f"{m}.py" for m in ("explain", "batch", "scorer")]
    files = [*(PACKAGE / "features").rglob("*.py"), *(PACKAGE / "reports").rglob("*.py"), *models]
    found = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if THRESHOLD_LITERAL.search(line)
    ]
    assert not found, "\n".join(found)


def test_texts_quote_the_loaded_thresholds() -> None:
    t = thresholds()
    cosi, limit = f"{t.cosi_cash_monthly:,.0f} EUR", f"{t.remittance_cash_per_operation:,.0f} EUR"
    by_name = {f.name: f for f in catalog()}
    assert cosi in by_name["cash_near_cosi_months_365d"].template
    assert limit in by_name["cash_near_limit_deposits_365d"].template
    assert limit in by_name["cash_remittances_near_limit_365d"].description
    assert f"{t.network_edge_min:,.0f} EUR" in by_name["net_cycles_365d"].description
