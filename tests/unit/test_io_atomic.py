"""Atomic outputs: a folder or a file is replaced only once its new content is complete; a
failure leaves the old one byte for byte and no partial behind; a refused write is one error."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.io import check_replaceable, replace_file_atomically, replace_folder_atomically


def _old(folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    (folder / "a.txt").write_text("old a", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.txt").write_text("old b", encoding="utf-8")
    return _content(folder)


def _content(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_finished_write_replaces_the_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _old(target)
    with replace_folder_atomically(target) as staged:
        assert staged.parent == tmp_path and staged.name.startswith(".out.partial-")
        assert not any(staged.iterdir())
        (staged / "new.txt").write_text("new", encoding="utf-8")
    assert _content(target) == {"new.txt": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_new_folder_is_created(tmp_path: Path) -> None:
    with replace_folder_atomically(tmp_path / "deep" / "out") as staged:
        (staged / "x").write_text("x", encoding="utf-8")
    assert (tmp_path / "deep" / "out" / "x").read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failure_leaves_the_old_folder_and_no_partial(
    tmp_path: Path, error: BaseException
) -> None:
    target = tmp_path / "out"
    before = _old(target)
    with pytest.raises(type(error)), replace_folder_atomically(target) as staged:
        (staged / "a.txt").write_text("half", encoding="utf-8")
        raise error
    assert _content(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_refused_write_is_one_error_naming_the_target(tmp_path: Path, code: int) -> None:
    target = tmp_path / "out"
    before = _old(target)
    with (
        pytest.raises(InvalidParameter, match=r"out: cannot write .*out: ") as caught,
        replace_folder_atomically(target),
    ):
        raise OSError(code, os.strerror(code))
    assert os.strerror(code) in str(caught.value) and "\n" not in str(caught.value)
    assert _content(target) == before
    with (
        pytest.raises(InvalidParameter, match="cannot write"),
        replace_file_atomically(tmp_path / "f.parquet"),
    ):
        raise OSError(code, os.strerror(code))


def test_what_a_killed_run_left_is_cleared_by_the_next(tmp_path: Path) -> None:
    target = tmp_path / "out"
    _old(target)
    dead = tmp_path / ".out.partial-999999999"  # no such process
    dead.mkdir()
    (dead / "scores.parquet").write_bytes(b"PAR1 half")
    with replace_folder_atomically(target) as staged:
        (staged / "new.txt").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_is_replaced_only_when_written(tmp_path: Path) -> None:
    target = tmp_path / "p.parquet"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replace_file_atomically(target) as staged:
        staged.write_bytes(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [target]
    with replace_file_atomically(target) as staged:
        staged.write_bytes(b"new")
    assert target.read_bytes() == b"new" and sorted(tmp_path.iterdir()) == [target]


def test_a_foreign_folder_is_never_replaced(tmp_path: Path) -> None:
    check_replaceable(tmp_path / "new", "run.json", "a run")  # new: fine
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty", "run.json", "a run")
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "run.json").write_text("{}", encoding="utf-8")
    check_replaceable(tmp_path / "ours", "run.json", "a run")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(InvalidParameter, match=r"theirs is not empty and is not a run"):
        check_replaceable(tmp_path / "theirs", "run.json", "a run")
    with pytest.raises(InvalidParameter, match="is a file"):
        check_replaceable(tmp_path / "theirs" / "thesis.docx", "run.json", "a run")
