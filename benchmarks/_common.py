"""Shared by the benchmark scripts: run one measurement in a fresh process, and say where."""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import resource
import time
from collections.abc import Callable
from typing import Any


def _run(fn: Callable[..., Any], args: tuple[Any, ...], queue: Any) -> None:
    started = time.perf_counter()
    result = fn(*args)
    queue.put({"result": result, "seconds": time.perf_counter() - started,
               "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2})


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a new process: its result, wall seconds and peak RSS (GiB), so
    that one measurement's memory never counts against the next. A crash is reported, not
    raised: ``{"failed": "exit code N"}``."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(fn, args, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        return {"result": None, "seconds": float("nan"), "peak_gib": float("nan"),
                "failed": f"exit code {proc.exitcode}"}
    return queue.get()


def machine_line(**versions: str) -> str:
    """One line naming the machine and the versions that matter for the figures."""
    tail = ", ".join(f"{k} {v}" for k, v in versions.items())
    return (f"machine: {platform.platform()}, {os.cpu_count()} cores; python "
            f"{platform.python_version()}, {tail}")
