"""Progress callbacks the services accept, so that a face can draw bars without the services
knowing how."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["TableTick", "Tick", "Ticks", "no_ticks", "per_table"]

Tick = Callable[[int, int | None], None]  # (done, total or None when unknown)
TableTick = Callable[[str, int, int], None]  # (table, done, total) while validating
Ticks = Callable[[str], Tick]  # a named task -> its tick


def _ignore(done: int, total: int | None) -> None:
    """A tick that shows nothing."""


def no_ticks(description: str) -> Tick:
    """Progress reporting that shows nothing (the default of every service)."""
    return _ignore


def per_table(ticks: Ticks) -> TableTick:
    """A validation tick drawing one task per table through ``ticks``."""
    started: dict[str, Tick] = {}

    def tick(table: str, done: int, total: int) -> None:
        started.setdefault(table, ticks(f"validating {table}"))(done, total)

    return tick
