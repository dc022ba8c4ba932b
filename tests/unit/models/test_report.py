"""The case report: one self-contained page with the explanation's red flags, reasons and the
rows behind their evidence, and no script or network reference."""

from __future__ import annotations

import html

import polars as pl

from flowrisk.features import build_profiles
from flowrisk.models.batch import explain_entities
from flowrisk.models.report import case_report, entity_facts
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
        assert f"{len(flag['evidence'])} evidence item(s)" in page
    for reason in row["reasons"]:
        assert html.escape(reason["text"]) in page
    first_txn = next(e for f in row["red_flags"] for e in f["evidence"] if e.startswith("txn:"))
    assert f"<td>{first_txn.removeprefix('txn:')}</td>" in page
    assert f"As of {t.as_of.date()}" in page and "flowrisk@champion" in page
