"""Batch scoring writes its output folder as one unit: run.json (status, times, versions,
dataset digest, counts) last, and a run that fails part-way leaves the previous one intact."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.io import ParquetSink
from flowrisk.models.batch import score_dataset
from tests.conftest import TrainedWorld


def _content(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def previous(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    t = trained_world
    out = tmp_path_factory.mktemp("previous") / "scores"
    score_dataset(
        t.folder,
        t.model,
        t.baselines,
        out,
        as_of=t.as_of,
        model_uri="models:/flowrisk/1",
        model_version="1",
        explain_mode="none",
        partitions=3,
    )
    return out


def test_run_json_says_what_ran_on_what_and_when(
    trained_world: TrainedWorld, previous: Path
) -> None:
    run = json.loads((previous / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "complete"
    started, finished = (datetime.fromisoformat(run[k]) for k in ("started_at", "finished_at"))
    assert started.utcoffset() is not None and started <= finished
    assert run["flowrisk_version"] and run["flowrisk_version"] != "unknown"
    assert (run["model_uri"], run["model_version"]) == ("models:/flowrisk/1", "1")
    manifest = (trained_world.folder / "manifest.json").read_bytes()
    assert run["dataset_digest"] == hashlib.sha256(manifest).hexdigest()
    assert run["source"] == run["dataset"] == str(trained_world.folder)
    assert run["entities"] == sum(run["bands"].values()) == 6_000 and run["explained"] == 0


def test_a_failure_mid_write_leaves_the_previous_output(
    trained_world: TrainedWorld, previous: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = trained_world
    out = tmp_path / "scores"
    shutil.copytree(previous, out)
    before = _content(out)
    calls: list[int] = []
    write = ParquetSink.write

    def fail_second(self: ParquetSink, frame: object) -> None:
        calls.append(1)
        if len(calls) > 2:  # scores and explanations of partition 1 written, then it breaks
            raise RuntimeError("disk gone")
        write(self, frame)  # type: ignore[arg-type]

    monkeypatch.setattr(ParquetSink, "write", fail_second)
    with pytest.raises(RuntimeError, match="disk gone"):
        score_dataset(t.folder, t.model, t.baselines, out, as_of=t.as_of, partitions=3)
    assert len(calls) == 3
    assert _content(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]


def test_disk_full_is_one_error_and_the_previous_output_stays(
    trained_world: TrainedWorld, previous: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = trained_world
    out = tmp_path / "scores"
    shutil.copytree(previous, out)
    before = _content(out)

    def full(self: ParquetSink, frame: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ParquetSink, "write", full)
    with pytest.raises(InvalidParameter, match=r"cannot write .*scores: No space left on device"):
        score_dataset(t.folder, t.model, t.baselines, out, as_of=t.as_of, partitions=2)
    assert _content(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]


def test_a_foreign_folder_is_refused_before_any_work(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    t = trained_world
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InvalidParameter, match="not a flowrisk scoring output"):
        score_dataset(t.folder, t.model, t.baselines, tmp_path, as_of=t.as_of)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
