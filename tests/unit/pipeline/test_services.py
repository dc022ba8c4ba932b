"""The services below the command line, on the session's trained world: validated batch
scoring quarantines broken rows and scores the rest, one entity is explained or reported, and
a failed report write leaves nothing behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from flowrisk.audit import Store
from flowrisk.errors import AuditUnavailable, EntityNotFound, InvalidParameter
from flowrisk.models.bundle import Bundle
from flowrisk.pipeline import Lookup, explain_in_dataset, score_validated, write_case_report
from tests.conftest import TrainedWorld


@pytest.fixture(scope="module")
def bundle(trained_world: TrainedWorld) -> Bundle:
    return Bundle(trained_world.model, trained_world.baselines, "models:/flowrisk/1", "1")


@pytest.fixture
def lookup(tmp_path: Path) -> Lookup:
    return Lookup(Store(f"sqlite:///{tmp_path / 'audit.db'}"), "case 2026-009", "flowrisk report")


def test_clean_data_is_scored_as_it_is(
    trained_world: TrainedWorld, bundle: Bundle, tmp_path: Path
) -> None:
    scored = score_validated(
        trained_world.folder, bundle, tmp_path / "out", explain="none", as_of=trained_world.as_of
    )
    assert scored.quarantined is None and not (tmp_path / "out" / "validated").exists()
    assert scored.run.entities == 6_000 and scored.run.dataset == str(trained_world.folder)


def test_broken_rows_are_quarantined_and_the_rest_scored(
    trained_world: TrainedWorld, bundle: Bundle, tmp_path: Path
) -> None:
    dirty = tmp_path / "dirty"
    shutil.copytree(trained_world.folder, dirty)
    tx = pl.read_parquet(dirty / "transactions.parquet")
    broken = pl.when(pl.int_range(pl.len()) == 11).then(-3.0).otherwise(pl.col("amount"))
    tx.with_columns(broken.alias("amount")).write_parquet(dirty / "transactions.parquet")
    out = tmp_path / "out"
    scored = score_validated(
        dirty, bundle, out, explain="none", as_of=trained_world.as_of, verify=False
    )  # edited on purpose: its manifest's digests no longer match
    assert scored.quarantined is not None and scored.quarantined.rows_quarantined == 1
    assert scored.run.dataset == str(out / "validated" / "accepted")
    rejected = pl.read_parquet(out / "validated" / "quarantine" / "transactions.parquet")
    assert rejected["amount"].to_list() == [-3.0]
    assert pl.read_parquet(out / "scores.parquet").height == 6_000


def test_an_unknown_entity_is_named_with_its_dataset(
    trained_world: TrainedWorld, bundle: Bundle, lookup: Lookup
) -> None:
    with pytest.raises(EntityNotFound, match=rf"NOBODY: no such entity in {trained_world.folder}"):
        explain_in_dataset(trained_world.folder, "NOBODY", bundle, lookup, trained_world.as_of)


def test_a_case_report_is_written_whole_or_not_at_all(
    trained_world: TrainedWorld, bundle: Bundle, lookup: Lookup, tmp_path: Path
) -> None:
    entity = trained_world.labels.filter(pl.col("label") == 1)["entity_id"][0]
    page = tmp_path / "reports" / "case.html"
    t = trained_world
    done = write_case_report(t.folder, entity, bundle, page, lookup, t.as_of)
    assert done.row["entity_id"] == entity and entity in page.read_text(encoding="utf-8")
    drawn = page.read_text(encoding="utf-8")
    assert "<h2>Money network</h2><svg" in drawn and 'href="/ui/entities/' not in drawn
    assert [p.name for p in page.parent.iterdir()] == ["case.html"]  # no partial file left
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(InvalidParameter, match="out: cannot write"):
        write_case_report(t.folder, entity, bundle, blocker / "case.html", lookup)
    assert blocker.read_text(encoding="utf-8") == "not a folder"
    (row, _) = list(lookup.store.audit_rows())
    assert (row["entity_id"], row["purpose"], row["route"]) == (
        entity,
        "case 2026-009",
        "flowrisk report",
    )
    assert row["score"] == done.row["score"] and row["model_version"] == "1"


class _Down(Store):
    """An audit store that cannot commit (as when its disk is full)."""

    def append(self, rows: object) -> None:
        raise AuditUnavailable("audit store sqlite:///down.db: database or disk is full")


def test_no_report_is_written_when_its_lookup_cannot_be_recorded(
    trained_world: TrainedWorld, bundle: Bundle, tmp_path: Path
) -> None:
    entity = trained_world.labels.filter(pl.col("label") == 1)["entity_id"][0]
    down = Lookup(_Down(f"sqlite:///{tmp_path / 'down.db'}"), "case 2026-009", "flowrisk report")
    page = tmp_path / "case.html"
    with pytest.raises(AuditUnavailable, match="disk is full"):
        write_case_report(trained_world.folder, entity, bundle, page, down, trained_world.as_of)
    assert not page.exists()


def test_a_case_report_in_french_as_pdf_is_headed_by_its_case_and_analyst(
    trained_world: TrainedWorld, bundle: Bundle, lookup: Lookup, tmp_path: Path
) -> None:
    import io

    from pypdf import PdfReader

    t = trained_world
    entity = t.labels.filter(pl.col("label") == 1)["entity_id"][0]
    out = tmp_path / "case.pdf"
    write_case_report(t.folder, entity, bundle, out, lookup, t.as_of, locale="fr", pdf=True)
    assert out.read_bytes().startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(out.read_bytes())).pages[0].extract_text()
    assert "Référence du dossier" in text and "case 2026-009" in text and "cli:" in text
    assert "Page 1 sur" in text and entity in text
    with pytest.raises(InvalidParameter, match="locale: 'de' is not supported"):
        write_case_report(t.folder, entity, bundle, tmp_path / "x.html", lookup, locale="de")
    assert len(list(lookup.store.audit_rows())) == 1  # the refused language recorded no lookup
    assert [p.name for p in tmp_path.iterdir() if p.suffix in (".pdf", ".html")] == ["case.pdf"]
