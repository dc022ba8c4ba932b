"""Analysts' decisions as training labels: the override rule point in time (pure), and on a
small world where cases are confirmed and dismissed through the case store and exported by
`flowrisk feedback export`, the snapshots' labels change from the decision on, and only then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flowrisk.cases import Actor, CaseStore
from flowrisk.cli import app
from flowrisk.config import get_settings
from flowrisk.errors import InvalidParameter
from flowrisk.io import read_labelled
from flowrisk.models.card import _feedback
from flowrisk.models.dataset import snapshot_dates
from flowrisk.models.feedback import feedback_use, labels_at, read_feedback
from flowrisk.models.training_run import training_split
from flowrisk.schema import FEEDBACK

AT = datetime(2025, 6, 1, tzinfo=UTC)


def _labels() -> pl.DataFrame:
    return pl.DataFrame(
        {"entity_id": ["A", "B"], "label": [1, 0], "typology": ["mule", None],
         "typologies": [["mule"], []], "label_date": [AT.date() - timedelta(days=90)] * 2},
        schema={"entity_id": pl.String, "label": pl.Int8, "typology": pl.String,
                "typologies": pl.List(pl.String), "label_date": pl.Date},
    )  # fmt: skip


def _feedback_rows(*rows: tuple[str, int, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"entity_id": e, "label": label, "decided_at": at, "case_id": f"C-{i}",
          "reason_code": "x"} for i, (e, label, at) in enumerate(rows)],
        schema=FEEDBACK.schema,
    )  # fmt: skip


def test_decisions_before_a_date_override_or_add_labels() -> None:
    fb = _feedback_rows(
        ("A", 0, AT - timedelta(days=10)),  # dismissed: A is no longer positive
        ("C", 1, AT - timedelta(days=5)),  # confirmed: C had no label
        ("B", 1, AT + timedelta(days=1)),  # decided after the date: not yet known
    )
    at = labels_at(_labels(), fb, AT).sort("entity_id")
    assert at["entity_id"].to_list() == ["A", "B", "C"]
    assert at["label"].to_list() == [0, 0, 1]
    assert at.filter(pl.col("entity_id") == "A")["typologies"].to_list() == [None]
    assert at.filter(pl.col("entity_id") == "C")["label_date"].to_list() == [
        (AT - timedelta(days=5)).date()
    ]
    later = labels_at(_labels(), fb, AT + timedelta(days=2)).sort("entity_id")
    assert later["label"].to_list() == [0, 1, 1]
    assert labels_at(_labels(), None, AT).equals(_labels())


def test_the_latest_decision_on_an_entity_wins() -> None:
    fb = _feedback_rows(("B", 1, AT - timedelta(days=30)), ("B", 0, AT - timedelta(days=3)))
    assert labels_at(_labels(), fb, AT).sort("entity_id")["label"].to_list() == [1, 0]
    assert labels_at(_labels(), fb, AT - timedelta(days=10)).sort("entity_id")[
        "label"
    ].to_list() == [1, 1]
    use = feedback_use(fb, [AT - timedelta(days=10), AT])
    assert use is not None and (use.read, use.used, use.positives, use.negatives) == (2, 1, 0, 1)
    assert "1 feedback labels used (0 confirmed, 1 dismissed) of 2 decisions" in _feedback(use)
    assert "none used" in _feedback(None)


def test_a_feedback_file_with_a_bad_label_is_refused(tmp_path: Path) -> None:
    bad = _feedback_rows(("A", 1, AT)).with_columns(pl.lit(2, dtype=pl.Int8).alias("label"))
    bad.write_csv(tmp_path / "f.csv")
    with pytest.raises(InvalidParameter, match=r"--feedback: f\.csv: 1 row"):
        read_feedback(tmp_path / "f.csv")
    with pytest.raises(InvalidParameter, match="--feedback: no such file"):
        read_feedback(tmp_path / "none.csv")


@pytest.mark.slow
def test_confirmed_and_dismissed_cases_change_the_training_labels(
    small_world_dir: Path, tmp_path: Path
) -> None:
    frames, labels, _ = read_labelled(small_world_dir, "training")
    dates = snapshot_dates(frames)
    decided = dates[1] - timedelta(days=3)  # after the first snapshot, before the others
    positive = labels.filter(pl.col("label") == 1)["entity_id"][0]
    negative = labels.filter(pl.col("label") == 0)["entity_id"][0]
    cases = CaseStore(get_settings().audit_url, now=lambda: decided)
    actor = Actor(name="cli:test")
    cases.dispose(cases.open(positive, actor).id, "false_positive", actor)
    cases.dispose(cases.open(negative, actor).id, "confirmed_suspicious", actor)
    duplicate = cases.open("E-unknown", actor)
    cases.dispose(duplicate.id, "duplicate", actor)  # says nothing: no label
    out = tmp_path / "feedback.csv"
    done = CliRunner().invoke(app, ["feedback", "export", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "2 feedback label(s) (1 confirmed, 1 dismissed)" in done.output
    feedback = read_feedback(out)
    assert feedback["entity_id"].to_list() == [positive, negative]
    assert feedback["label"].to_list() == [0, 1]

    def labels_of(fb: pl.DataFrame | None) -> pl.DataFrame:
        _, _, split = training_split(frames, labels, feedback=fb)
        rows = pl.concat([split.train, split.valid, split.test])
        return rows.filter(pl.col("entity_id").is_in([positive, negative])).select(
            "entity_id", "as_of", "label"
        )

    plain, fed = labels_of(None), labels_of(feedback)
    joined = plain.join(fed, on=["entity_id", "as_of"], suffix="_fed")
    assert joined.height == plain.height > 0
    for row in joined.iter_rows(named=True):
        if row["as_of"] <= decided:
            assert row["label_fed"] == row["label"]  # before the decision: the dataset's
        else:
            assert row["label_fed"] == (0 if row["entity_id"] == positive else 1)
    assert joined.filter(pl.col("as_of") > decided).height > 0
