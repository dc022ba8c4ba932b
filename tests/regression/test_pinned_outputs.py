"""Profiles, baselines, scores, explanations and case reports of the seeded session worlds,
pinned bit for bit: a refactoring that changes any of them fails here (a deliberate change of
behaviour updates the pins in the same commit and says why). The generator's own pins are in
tests/unit/synth."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flowrisk.features import build_profiles, fit_baselines
from flowrisk.io import read_dataset
from flowrisk.models import rule_scores
from flowrisk.models.batch import explain_entities
from flowrisk.models.explain import reason_lines
from flowrisk.reports.case import case_report, entity_facts
from tests.conftest import TrainedWorld

SMALL_AS_OF = datetime(2025, 12, 1, tzinfo=UTC)
PINS = {
    "baselines": "451a632248f27079",
    "profiles": "d8c91fca4621e396",
    "scores": "ea128e7cb342631a",
    "explanations": "60c69edfb2469f80",
    "rules": "4bdb36a35ddeed05",
    "report": "f24bf97732e61e3c",
    "reason_lines": "021af28ab52c12f5",
}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _frame_digest(frame: pl.DataFrame) -> str:
    """Rows in entity order, every value as Polars writes it to JSON."""
    return _digest(frame.sort("entity_id").write_ndjson().encode())


def test_profiles_and_baselines_are_pinned(small_world_dir: Path) -> None:
    frames = {k: v.collect().lazy() for k, v in read_dataset(small_world_dir).items()}
    baselines = fit_baselines(frames, SMALL_AS_OF)
    assert _digest(baselines.to_json().encode()) == PINS["baselines"]
    assert _frame_digest(build_profiles(frames, SMALL_AS_OF, baselines).collect()) == PINS[
        "profiles"
    ]


@pytest.fixture(scope="module")
def held_out(trained_world: TrainedWorld) -> pl.DataFrame:
    t = trained_world
    return build_profiles(t.frames, t.as_of, t.baselines).collect()


def test_scores_and_rules_are_pinned(trained_world: TrainedWorld, held_out: pl.DataFrame) -> None:
    assert _frame_digest(trained_world.model.score(held_out)) == PINS["scores"]
    rules = np.ascontiguousarray(rule_scores(held_out))
    assert _digest(rules.tobytes()) == PINS["rules"]


def test_explanations_reasons_and_report_are_pinned(
    trained_world: TrainedWorld, held_out: pl.DataFrame
) -> None:
    t = trained_world
    top = (
        t.model.score(held_out)
        .sort(["probability", "entity_id"], descending=[True, False])
        .head(40)["entity_id"]
        .to_list()
    )
    chosen = held_out.filter(pl.col("entity_id").is_in(top))
    explained = explain_entities(t.frames, chosen, t.as_of, t.model, t.baselines)
    assert _frame_digest(explained) == PINS["explanations"]
    rows = list(explained.sort("entity_id").iter_rows(named=True))
    lines = "\n".join(line for row in rows for line in reason_lines(row))
    assert _digest(lines.encode()) == PINS["reason_lines"]
    facts = entity_facts(t.frames, rows[0]["entity_id"], t.as_of)
    page = case_report(rows[0], facts, as_of=t.as_of, model="m", generated_at=SMALL_AS_OF)
    assert _digest(page.encode()) == PINS["report"]
