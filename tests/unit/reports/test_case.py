"""The case report: one self-contained page with the explanation's red flags, reasons and the
rows behind their evidence, and no script or network reference."""

from __future__ import annotations

import html
import re

import polars as pl

from flowrisk.features import build_profiles
from flowrisk.models.batch import explain_entities
from flowrisk.reports.case import case_report, entity_facts
from tests.bands import assert_bands_follow_scores, assert_no_certain_probability
from tests.conftest import TrainedWorld


def test_case_report_shows_flags_reasons_and_their_evidence(trained_world: TrainedWorld) -> None:
    t = trained_world
    guilty = t.labels.filter(pl.col("label") == 1)["entity_id"].head(30).to_list()
    profiles = build_profiles(t.frames, t.as_of, t.baselines, entities=guilty).collect()
    explained = explain_entities(t.frames, profiles, t.as_of, t.model, t.baselines)
    row = next(
        r
        for r in explained.iter_rows(named=True)
        if any(e.startswith("txn:") for f in r["red_flags"] for e in f["evidence"])
    )
    facts = entity_facts(t.frames, row["entity_id"], t.as_of)
    page = case_report(row, facts, as_of=t.as_of, model="flowrisk@champion")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</body></html>")
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    for flag in row["red_flags"]:
        assert html.escape(flag["text"]) in page
        n = len(flag["evidence"])
        assert f'<p class="count">{n} evidence item{"" if n == 1 else "s"}</p>' in page
    for reason in row["reasons"]:
        assert html.escape(reason["text"]) in page
    first_txn = next(e for f in row["red_flags"] for e in f["evidence"] if e.startswith("txn:"))
    assert f"<td>{first_txn.removeprefix('txn:')}</td>" in page
    assert f"As of {t.as_of.day} {t.as_of:%b %Y}" in page and "flowrisk@champion" in page


def test_the_badge_follows_the_score_and_no_probability_reads_certain(
    trained_world: TrainedWorld,
) -> None:
    """Reports on the riskiest entities and on ordinary ones: sorted by the score each page
    shows, the band badge never steps down (the step-wise calibration put a "medium" badge
    beside "100.0/100"), and the probability never reads 1.000 or 0.000."""
    t = trained_world
    profiles = build_profiles(t.frames, t.as_of, t.baselines).collect()
    ranked = t.model.score(profiles).sort("score", descending=True)["entity_id"]
    chosen = [*ranked.head(6), *ranked.gather([1_000, 3_000, 5_999])]
    subset = profiles.filter(pl.col("entity_id").is_in(chosen))
    explained = explain_entities(t.frames, subset, t.as_of, t.model, t.baselines)
    shown, printed = [], []
    for row in explained.iter_rows(named=True):
        facts = entity_facts(t.frames, row["entity_id"], t.as_of)
        page = case_report(row, facts, as_of=t.as_of, model="flowrisk@champion")
        found = re.search(
            r'<span class="band (\w+)">\w+</span>\s*&nbsp;score <b>([\d.]+)</b>/100 '
            r"\(calibrated probability\s+([\d.]+)\)",
            page,
        )
        assert found, "the page shows no band, score and probability"
        band, score, probability = found.groups()
        shown.append((float(score), band))
        printed.append(probability)
    assert_bands_follow_scores(shown)
    assert_no_certain_probability(printed)
