"""Audit writes of concurrent requests group-committed: one transaction (and one disk sync) for
every request queued meanwhile, each request's response still waiting for its own rows."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flowrisk.audit import Store
from flowrisk.errors import AuditUnavailable

__all__ = ["AuditWrite", "GroupCommit"]

log = logging.getLogger("flowrisk.api.audit")


class AuditWrite:
    """One request's audit rows, committed by the process's writer (``GroupCommit``). If the
    request stops waiting (its time limit) before the rows are committed, the decision is
    atomic: either the rows were already committed (the held response is sent after all) or
    the write is abandoned; an abandoned write that still commits later is followed by rows
    saying the client got a 503, so the trail never claims a result was delivered that was
    not."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.error: AuditUnavailable | None = None
        self.done = threading.Event()  # committed, failed or dropped (abandoned before)
        self._lock = threading.Lock()
        self._committed = self._abandoned = False

    def take(self) -> bool:
        """Whether the writer should commit these rows (not when abandoned already)."""
        with self._lock:
            if self._abandoned:
                self.done.set()
            return not self._abandoned

    def committed(self) -> bool:
        """Mark the rows committed; True when the request had stopped waiting meanwhile."""
        with self._lock:
            self._committed = True
            late = self._abandoned
        self.done.set()
        return late

    def failed(self, error: AuditUnavailable) -> None:
        self.error = error
        self.done.set()

    def abandon(self) -> bool:
        """Stop waiting; True when the rows were not committed (and now will be noted as
        withheld if they ever are)."""
        with self._lock:
            if self._committed:
                return False
            self._abandoned = True
            return True


class GroupCommit:
    """The process's audit writes, group-committed: each request queues its rows, and the one
    writer (the middleware runs one) commits every queued request's rows in one transaction, so
    requests arriving while a commit syncs to disk share the next sync instead of each waiting
    for its own. A request's response still leaves only once its own rows are committed: no
    row is ever lost, only the syncs are shared."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queued: list[AuditWrite] = []
        self._lock = threading.Lock()

    def queue(self, job: AuditWrite) -> None:
        with self._lock:
            self._queued.append(job)

    def flush(self, job: AuditWrite) -> None:
        """Commit what is queued unless ``job`` was committed with an earlier group; raise
        ``job``'s failure (run by the writer thread)."""
        if not job.done.is_set():
            with self._lock:
                group, self._queued = self._queued, []
            self._commit([j for j in group if j.take()])
        if job.error is not None:
            raise job.error

    def _commit(self, group: list[AuditWrite]) -> None:
        errors = self.store.append_groups([j.rows for j in group]) if group else []
        late = []
        for j, error in zip(group, errors, strict=True):
            if error is not None:
                j.failed(error)
            elif j.committed():
                late.append(j)
        for j in late:
            rid = j.rows[0]["request_id"]
            log.error("audit rows of request %s committed after its 503; noting the 503", rid)
            withheld = {"status": 503, "score": None, "band": None, "model_version": None}
            try:
                self.store.append([{**row, **withheld} for row in j.rows])
            except AuditUnavailable as exc:  # nobody waits for this thread: say it here
                log.error("%s; the 503 of request %s is not noted", exc, rid)
