"""The case report as a browser prints it: in headless Chromium with print media, every
evidence transaction of the explanation is visible text (nothing folded away), in French too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flowrisk.audit import Store
from flowrisk.models.bundle import Bundle
from flowrisk.pipeline import Lookup, write_case_report
from tests.conftest import TrainedWorld


@pytest.mark.slow
def test_a_printed_case_report_shows_every_evidence_transaction(
    trained_world: TrainedWorld, page: Any, tmp_path: Path
) -> None:
    t = trained_world
    bundle = Bundle(t.model, t.baselines, "models:/flowrisk/1", "1")
    lookup = Lookup(Store(f"sqlite:///{tmp_path / 'audit.db'}"), "case 2026-011", "flowrisk report")
    report = tmp_path / "case.html"
    ids: set[str] = set()
    # the first labelled entities whose reasons cite transactions (a short-window scheme's
    # member may be explained by profile figures alone)
    for entity in t.labels.filter(pl.col("label") == 1)["entity_id"].head(8):
        done = write_case_report(t.folder, entity, bundle, report, lookup, t.as_of, locale="fr")
        ids = {
            e.removeprefix("txn:")
            for item in [*done.row["red_flags"], *done.row["reasons"]]
            for e in item["evidence"]
            if e.startswith("txn:")
        }
        if ids:
            break
    page.emulate_media(media="print")
    page.goto(report.as_uri())
    cells = set(page.locator(".evidence td:first-child").all_inner_texts())
    assert ids and ids <= cells
    assert page.locator(".evidence table").first.is_visible()
    text = page.inner_text("body")
    assert "Référence du dossier" in text and "case 2026-011" in text
    assert "Signaux d'alerte" in text
