"""Choosing reasons: the honest side gives way to the next reason, raises on the same red flag
merge, each evidence id is cited once; templates agree with their counts."""

from __future__ import annotations

import numpy as np

from flowrisk.features import catalog
from flowrisk.models.reasons import choose_all, evidence_of, risky_gap, round_edge
from tests.model.explain_reference import choose

BY_NAME = {f.name: f for f in catalog()}
NAMES = [
    "geo_high_risk_share_365d",  # 0: backed by the high-risk flag
    "geo_high_risk_count_365d",  # 1: same flag
    "flow_new_payer_share_90d",  # 2: raises from the honest side
    "cash_deposit_count_90d",  # 3: lowers from the risky side
    "geo_watched_share_365d",  # 4: geo, no flag of its own
    "cash_share_inflow_90d",  # 5: lowers from the honest side
]
FEATURES = [BY_NAME[n] for n in NAMES]
FLAGS = [
    {"flag": "high_risk_jurisdictions", "family": "geo", "evidence": ["txn:1", "txn:2"]},
    {"flag": "other_geo", "family": "geo", "evidence": ["txn:2", "txn:3", "txn:3"]},
]


def test_choose_skips_contradictions_and_merges_reasons_on_one_flag() -> None:
    values = np.array([0.2, 21.0, 0.87, 36.0, 0.3, 0.0])
    reference = np.array([0.0, 0.0, 0.93, 0.0, 0.0, 0.0])
    gap = risky_gap(FEATURES, values, reference)
    c = np.array([0.9, 0.4, 0.8, -0.7, 0.3, -0.2])
    flag_of = {0: "high_risk_jurisdictions", 1: "high_risk_jurisdictions"}
    choice = choose(c, gap, flag_of, [0] * 6, top_up=5, top_down=3, decimals=4)
    assert choice.shown == [0, 4, 5]  # 2 and 3 left out, 1 merged into 0
    assert choice.merged == {0: [1], 4: []}
    evidence = evidence_of(choice, FEATURES, flag_of, FLAGS)
    assert evidence == {0: ["txn:1", "txn:2"], 4: ["txn:3"]}  # no id twice


def test_choose_takes_the_next_raise_and_ignores_rounded_zeros() -> None:
    values = np.array([0.2, 21.0, 0.5, 36.0, 0.3, 0.0])
    gap = risky_gap(FEATURES, values, np.zeros(6))
    c = np.array([0.9, 0.00004, np.nan, 0.5, 0.3, -0.00004])
    choice = choose(c, gap, {}, [0] * 6, top_up=5, top_down=3, decimals=4)
    assert choice.shown == [0, 3, 4]  # 1 and 5 round to 0, 2 is unknown


def test_templates_agree_with_their_counts() -> None:
    f = BY_NAME["reports_declarants_365d"]
    assert f.render(1) == "Reported by 1 institution in a year"
    assert f.render(3) == "Reported by 3 different institutions in a year"
    assert BY_NAME["cash_deposit_count_90d"].render(1) == "1 cash deposit in 90 days"
    assert BY_NAME["cash_deposit_count_90d"].render(0) == "0 cash deposits in 90 days"
    for feature in catalog():  # every template renders, with no bracket left
        text = feature.render(1.0, 0.5) + feature.render(2.0, 0.5)
        assert "[" not in text and "]" not in text and "(s)" not in text


def test_round_edge_is_where_round_starts_to_keep_a_value() -> None:
    for decimals in (2, 4, 6):
        edge = round_edge(decimals)
        below = float(np.nextafter(edge, 0.0))
        assert round(edge, decimals) > 0 and not round(below, decimals) > 0
        assert round(-edge, decimals) < 0 and not round(-below, decimals) < 0


def test_choose_all_makes_the_choices_of_choose_row_by_row() -> None:
    """Random rows with ties, unknown values, contributions at the rounding edge and raises
    backed by red flags: the vectorised choice equals the per-row one."""
    rng = np.random.default_rng(7)
    rows, width, decimals = 400, 6, 4
    edge = round_edge(decimals)
    levels = [-0.3, -0.1, -edge, 0.0, edge, float(np.nextafter(edge, 0.0)), 0.1, 0.3]
    c = rng.choice(levels, size=(rows, width)) * rng.choice([1.0, 1.0, 2.0], size=(rows, width))
    c[rng.random((rows, width)) < 0.1] = np.nan
    gap = rng.choice([-1.0, 0.0, 1.0, np.nan], size=(rows, width))
    rank = rng.integers(0, 3, size=(rows, width))
    keys = ["high_risk_jurisdictions", "other_geo"]
    flag_of = [{j: keys[j % 2] for j in range(width) if rng.random() < 0.4} for _ in range(rows)]
    linked = width
    together = choose_all(c, gap, flag_of, rank, 3, 2, decimals, linked)
    for i in range(rows):
        alone = choose(c[i], gap[i], flag_of[i], list(rank[i]), 3, 2, decimals)
        assert together[i].shown == alone.shown, i
        assert together[i].merged == alone.merged, i
