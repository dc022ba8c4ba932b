"""Files checked against the SHA-256 of their dataset's manifest, and reader errors as one
line naming the file."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowrisk import io
from flowrisk.cli import app
from flowrisk.data_contracts import validate_dataset
from flowrisk.errors import DatasetCorrupted, DatasetError
from flowrisk.io import MANIFEST_NAME, file_sha256, read_dataset, read_labelled, verify_files


def _copy(world: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "world"
    shutil.copytree(world, copy)
    return copy


def _flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def test_generated_world_verifies(small_world_dir: Path) -> None:
    manifest = json.loads((small_world_dir / MANIFEST_NAME).read_text())
    assert "transactions.parquet" in manifest["sha256"]
    verify_files(small_world_dir, sorted(small_world_dir.glob("*.parquet")))
    _, labels, per_txn = read_labelled(small_world_dir, "a test")
    assert labels.height and per_txn is not None


def test_flipped_byte_is_named_with_both_digests(small_world_dir: Path, tmp_path: Path) -> None:
    copy = _copy(small_world_dir, tmp_path)
    path = copy / "transactions.parquet"
    _flip(path, path.stat().st_size // 2)
    with pytest.raises(DatasetCorrupted, match=r"transactions\.parquet") as caught:
        read_dataset(copy)
    expected = json.loads((copy / MANIFEST_NAME).read_text())["sha256"]["transactions.parquet"]
    assert caught.value.expected == expected and caught.value.actual == file_sha256(path)
    assert expected[:12] in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, DatasetError)  # exit 2 in the CLI, a 503 in the API
    read_dataset(copy, verify=False)  # skipped: read as before (the flip may decode)


def test_no_manifest_and_unlisted_files_read_as_before(
    small_world_dir: Path, tmp_path: Path
) -> None:
    copy = _copy(small_world_dir, tmp_path)
    (copy / MANIFEST_NAME).unlink()
    _flip(copy / "entities.parquet", 4)  # the leading magic: Polars does not look at it
    assert set(read_dataset(copy)) >= {"entities", "accounts", "transactions"}
    unlisted = _copy(small_world_dir, tmp_path / "b")
    manifest = json.loads((unlisted / MANIFEST_NAME).read_text())
    del manifest["sha256"]["entities.parquet"]
    (unlisted / MANIFEST_NAME).write_text(json.dumps(manifest))
    _flip(unlisted / "entities.parquet", 4)
    read_dataset(unlisted)


def test_unreadable_manifest_is_one_line(small_world_dir: Path, tmp_path: Path) -> None:
    copy = _copy(small_world_dir, tmp_path)
    (copy / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DatasetError, match=r"manifest.json: cannot be read"):
        read_dataset(copy)
    read_dataset(copy, verify=False)


def test_each_file_is_hashed_once_per_process(
    small_world_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy(small_world_dir, tmp_path)
    opened: list[str] = []
    real_open = Path.open

    def counting(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if args and args[0] == "rb":
            opened.append(self.name)
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", counting)
    read_dataset(copy)
    read_dataset(copy)
    validate_dataset(copy, engine="polars")
    assert opened.count("transactions.parquet") == 1
    _flip(copy / "transactions.parquet", 100)  # a rewrite changes the mtime: hashed again
    with pytest.raises(DatasetCorrupted):
        read_dataset(copy)
    assert opened.count("transactions.parquet") == 2
    assert len(io._DIGESTS) >= 1


def test_validated_output_and_imports_pass_verification(
    small_world_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "validated"
    report = validate_dataset(small_world_dir, quarantine=out, engine="polars")
    assert report.clean
    for folder in (out / "accepted", out / "quarantine"):
        verify_files(folder, sorted(folder.glob("*.parquet")))
    read_dataset(out / "accepted")
    sim = tmp_path / "sim"
    sim.mkdir()
    (sim / "nodes.csv").write_text("nodeid,isFraud,init_balance,fraudStep\n0,0,1.0,-1\n1,1,2.0,3\n")
    (sim / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time\n0,1,10.5,1\n")
    with tarfile.open(tmp_path / "sim.tgz", "w:gz") as archive:
        archive.add(sim, arcname="sim")
    imported = tmp_path / "imported"
    result = CliRunner().invoke(
        app, ["import", "amlsim", str(tmp_path / "sim.tgz"), "--out", str(imported)]
    )
    assert result.exit_code == 0, result.output
    verify_files(imported, sorted(imported.glob("*.parquet")))
    read_labelled(imported, "a test")


def test_a_clean_validated_copy_has_its_sources_digest_and_a_dirty_one_its_own(
    small_world_dir: Path, tmp_path: Path
) -> None:
    """Training on a clean validated copy and on its source is training on the same data, so
    both have one dataset digest; a copy that lost a row, or a folder changed by hand, does not."""
    import polars as pl

    from flowrisk.io import dataset_digest, dataset_label

    source = dataset_digest(small_world_dir)
    assert source == hashlib.sha256((small_world_dir / MANIFEST_NAME).read_bytes()).hexdigest()
    clean = tmp_path / "clean"
    assert validate_dataset(small_world_dir, quarantine=clean, engine="polars").clean
    copy = clean / "accepted"
    assert dataset_digest(copy) == source
    assert dataset_label(copy) == f"{small_world_dir.name} (validated)"
    manifest = json.loads((copy / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["validated_from"]["dataset"] == str(small_world_dir.resolve())
    assert manifest["period"] == json.loads((small_world_dir / MANIFEST_NAME).read_text())["period"]

    dirty_world = tmp_path / "dirty_world"
    shutil.copytree(small_world_dir, dirty_world)
    (
        dirty_world / MANIFEST_NAME
    ).unlink()  # an edited dataset without a manifest still has a digest
    before = dataset_digest(dirty_world)
    tx = pl.read_parquet(dirty_world / "transactions.parquet")
    broken = pl.when(pl.int_range(pl.len()) == 3).then(-5.0).otherwise(pl.col("amount"))
    tx.with_columns(broken.alias("amount")).write_parquet(dirty_world / "transactions.parquet")
    after = dataset_digest(dirty_world)
    assert len({source, before, after}) == 3
    dirty = tmp_path / "dirty"
    assert validate_dataset(dirty_world, quarantine=dirty, engine="polars").rows_quarantined == 1
    lost_a_row = dataset_digest(dirty / "accepted")
    assert lost_a_row not in {source, before, after}
    assert json.loads((dirty / "accepted" / MANIFEST_NAME).read_text())["validated_from"] == {
        "dataset": str(dirty_world.resolve()),
        "digest": after,
        "same_data": False,
    }
    read_dataset(dirty / "accepted")  # its own files verify against its manifest
