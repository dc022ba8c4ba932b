"""Writing files and folders so that an interrupted run never leaves a half-written one looking
complete: everything is written beside its target and put in place by renames."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from flowrisk.errors import InvalidParameter

__all__ = ["check_replaceable", "replace_file_atomically", "replace_folder_atomically"]


def _partial(target: Path) -> Path:
    return target.parent / f".{target.name}.partial-{os.getpid()}"


def _clear_stale(target: Path) -> None:
    """Remove what runs killed before they could clean up left beside ``target``."""
    if not target.parent.is_dir():
        return
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cannot_write(target: Path, exc: OSError) -> InvalidParameter:
    return InvalidParameter("out", f"cannot write {target}: {exc.strerror or exc}")


def check_replaceable(target: Path, marker: str, what: str) -> None:
    """Refuse to replace ``target`` unless it is new, empty, or holds ``marker`` (the file that
    says it is ``what`` flowrisk wrote): a foreign folder is never deleted."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise InvalidParameter("out", f"{target} is a file, not a folder")
    if target.is_dir() and not (target / marker).is_file() and any(target.iterdir()):
        raise InvalidParameter(
            "out",
            f"{target} is not empty and is not {what} (no {marker}): refusing to replace it; "
            "choose a new or empty folder",
        )


@contextmanager
def replace_folder_atomically(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``target`` to write into; on success it replaces ``target``
    by renames (the old one is moved aside, then removed). On any failure or interruption the
    temporary folder is removed and ``target`` is left as it was; a write the disk refuses
    (read-only, full) is an :class:`InvalidParameter` naming ``target``."""
    target = Path(target)
    staged = _partial(target)
    try:
        _clear_stale(target)
        staged.mkdir(parents=True)
        yield staged
        _swap(staged, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from exc
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _swap(staged: Path, target: Path) -> None:
    """Put ``staged`` in place of ``target`` (which may not exist), removing the old one."""
    if not target.exists():
        staged.rename(target)
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    target.rename(old)
    try:
        staged.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def replace_file_atomically(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` to write one file to; on success it replaces
    ``target`` in one rename, on any failure it is removed and ``target`` is left as it was."""
    target = Path(target)
    staged = _partial(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield staged
        os.replace(staged, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from exc
    finally:
        with suppress(OSError):  # the folder itself may be what failed
            staged.unlink(missing_ok=True)
