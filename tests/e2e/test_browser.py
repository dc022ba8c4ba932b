"""The browser harness itself: a case report written by the pipeline, opened in headless
Chromium, shows the entity and its reasons."""

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
def test_a_case_report_opens_in_chromium(
    trained_world: TrainedWorld, page: Any, tmp_path: Path
) -> None:
    t = trained_world
    bundle = Bundle(t.model, t.baselines, "models:/flowrisk/1", "1")
    entity = t.labels.filter(pl.col("label") == 1)["entity_id"][0]
    lookup = Lookup(Store(f"sqlite:///{tmp_path / 'audit.db'}"), "case 2026-010", "flowrisk report")
    report = tmp_path / "case.html"
    write_case_report(t.folder, entity, bundle, report, lookup, t.as_of)
    page.goto(report.as_uri())
    assert entity in page.inner_text("body")
    shot = page.screenshot(full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
