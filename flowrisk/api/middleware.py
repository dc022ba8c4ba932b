"""The pure ASGI layer around every request: the request id (``X-Request-ID``), the body-size
limit (413), the body's hash, the request's latency and count by route template (Prometheus),
and the audit rows of the routes marked audited (``deps.Audited``).

Audited routes fail closed: their response (status, headers, body) is held in memory while
their audit rows are written off the event loop, within the store's timeout; only once the rows
are committed does the response leave. When they cannot be committed the client gets a 503
problem naming the audit store and nothing of the result, and the store's health (shared with
``/readyz``, see ``AuditHealth``) turns unhealthy until a write succeeds again.

The route is found by the app's own routes (``resolve``), before the app runs: a request refused
here for its size is labelled and audited like any other."""

from __future__ import annotations

import gc
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.to_thread
from starlette.routing import BaseRoute, Match, get_route_path

from flowrisk.api.deps import AuditNote, audit_note
from flowrisk.api.group_commit import AuditWrite, GroupCommit
from flowrisk.api.metrics import Metrics
from flowrisk.api.problems import ApiProblem, problem
from flowrisk.api.service import ApiConfig
from flowrisk.audit import ApiKey, Store
from flowrisk.errors import AuditUnavailable

__all__ = [
    "REQUEST_ID",
    "AuditHealth",
    "AuditMiddleware",
    "Resolved",
    "audit_health",
    "audit_time_limit",
    "is_audited",
    "request_id",
    "resolve",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

OTHER = "other"  # the label of requests no route matches
REQUEST_ID = "X-Request-ID"
_RAW_REQUEST_ID = REQUEST_ID.lower().encode("latin-1")
REQUEST_ID_MAX = 64
AUDIT_MARGIN_SECONDS = 1.0  # beyond the store's own timeout, which should answer first
# one writer thread per process: the store serialises appends anyway (SQLite's write lock, an
# advisory lock on PostgreSQL), and threads of one process racing for SQLite's lock are served
# in no order, so that one could wait past the timeout while others commit; queued here, they
# are served in turn
AUDIT_WRITERS = 1
# after this many requests, what warming up made (pydantic, Polars and LightGBM caches, the
# first responses' objects) is collected once and frozen out of the collector's way: later
# collections then scan only what each request makes, so no request pays for a full pass
WARM_UP_REQUESTS = 50

log = logging.getLogger("flowrisk.api.audit")


@dataclass
class AuditHealth:
    """Whether the audit store took the last write: a failed write makes it unhealthy (and
    ``/readyz`` 503) until a write or a readiness probe succeeds. One per app, shared by the
    middleware and ``/readyz`` (``audit_health``)."""

    healthy: bool = True
    reason: str | None = None
    since: float = field(default_factory=time.monotonic)

    def failed(self, reason: str) -> None:
        if self.healthy:
            self.since = time.monotonic()
        self.healthy, self.reason = False, reason

    def recovered(self) -> None:
        if not self.healthy:
            self.since = time.monotonic()
        self.healthy, self.reason = True, None


def audit_health(app: Any) -> AuditHealth:
    """The app's one ``AuditHealth`` (made on first use, on ``app.state``)."""
    health: AuditHealth | None = getattr(app.state, "audit_health", None)
    if health is None:
        health = app.state.audit_health = AuditHealth()
    return health


def audit_time_limit(store: Store) -> float:
    """How long a request waits for its audit rows: the store's timeout and a margin."""
    return store.timeout + AUDIT_MARGIN_SECONDS


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's one ``X-Request-ID`` when it is printable ASCII of at most 64 characters,
    else a fresh one (uuid4 hex): the id is echoed in logs and audit rows, so it is kept
    plain."""
    given = [v for k, v in headers if k.lower() == _RAW_REQUEST_ID]
    if len(given) == 1:
        value = given[0].strip()
        if 0 < len(value) <= REQUEST_ID_MAX and all(0x20 <= b < 0x7F for b in value):
            return value.decode("ascii")
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Resolved:
    """The route a request goes to: its path template, whether it is audited, its path
    parameters."""

    label: str
    audited: bool
    params: dict[str, Any]


def _flat(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, those of included routers included (FastAPI keeps an included router as
    one entry holding the router it includes)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield route


def is_audited(route: BaseRoute) -> bool:
    """A route is audited iff it (or its router) depends on ``deps.audit_note``."""
    dependant = getattr(route, "dependant", None)
    return dependant is not None and any(d.call is audit_note for d in dependant.dependencies)


def resolve(routes: Iterable[BaseRoute], scope: Scope) -> Resolved:
    """The route Starlette would pick for ``scope`` (the first full match, else the first
    path match with another method, which answers 405)."""
    chosen: tuple[BaseRoute, Scope] | None = None
    probe = dict(scope)  # matching may annotate the scope; the request's stays untouched
    path = get_route_path(probe)
    for route in _flat(routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and not regex.match(path):
            continue  # the quick test first: a full ``matches`` costs microseconds
        match, child = route.matches(probe)
        if match is Match.FULL:
            chosen = (route, child)
            break
        if match is Match.PARTIAL and chosen is None:
            chosen = (route, child)
    if chosen is None:
        return Resolved(OTHER, False, {})
    route, child = chosen
    matched = child.get("route", route)
    label = getattr(matched, "path", None) or OTHER
    return Resolved(label, is_audited(matched), dict(child.get("path_params") or {}))


def _with_request_id(message: Message, rid: str) -> Message:
    """A response start message carrying ``X-Request-ID``."""
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _RAW_REQUEST_ID]
    return {**message, "headers": [*headers, (_RAW_REQUEST_ID, rid.encode("ascii"))]}


class AuditMiddleware:
    """Request id, size limit, hash, metrics and audit around ``app`` (``add_middleware``)."""

    def __init__(self, app: ASGI, config: ApiConfig, metrics: Metrics) -> None:
        self.app, self.config, self.metrics = app, config, metrics
        self._writers: anyio.CapacityLimiter | None = None
        self._group = GroupCommit(config.store)
        self._served = 0  # requests seen, up to the warm-up's end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        resolved = resolve(scope["app"].router.routes, scope)
        rid = request_id(scope.get("headers") or [])
        scope.setdefault("state", {})["request_id"] = rid
        held: list[Message] = []
        status = {"code": 500, "started": 0}

        async def tagged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], 1
                message = _with_request_id(message, rid)
            await send(message)

        async def holding_send(message: Message) -> None:
            held.append(message)

        out = holding_send if resolved.audited else tagged_send
        digest = hashlib.sha256()
        try:
            await self._run(scope, receive, out, digest)
        except Exception:
            if resolved.audited:
                held.clear()
                await self._internal_error(scope, receive, holding_send)
                await self._commit(scope, receive, held, digest, resolved, tagged_send)
            elif not status["started"]:  # nothing sent yet: a problem document, not plain text
                await self._internal_error(scope, receive, tagged_send)
            raise
        else:
            if resolved.audited:
                await self._commit(scope, receive, held, digest, resolved, tagged_send)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], resolved.label, status["code"], elapsed)
            self._served += 1
            if self._served == WARM_UP_REQUESTS:
                gc.collect()
                gc.freeze()

    async def _run(self, scope: Scope, receive: Receive, send: Send, digest: Any) -> None:
        """The app, within the body-size limit, hashing the body as it is read; a refusal of
        ours (``ApiProblem``) is answered as a problem document."""
        limit = self.config.max_body_bytes
        size = 0
        declared = dict(scope.get("headers") or []).get(b"content-length")

        async def counting_receive() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                digest.update(chunk)
                if size > limit:
                    raise ApiProblem(413, "Request too large", f"the body exceeds {limit:,} bytes")
            return message

        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise ApiProblem(413, "Request too large", f"the body exceeds {limit:,} bytes")
            await self.app(scope, counting_receive, send)
        except ApiProblem as exc:
            response = problem(exc.status, exc.title, exc.detail, scope["path"])
            await response(scope, receive, send)

    async def _internal_error(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"an internal error; request {scope['state']['request_id']}"
        await problem(500, "Internal error", detail, scope["path"])(scope, receive, send)

    async def _commit(
        self,
        scope: Scope,
        receive: Receive,
        held: Sequence[Message],
        digest: Any,
        resolved: Resolved,
        send: Send,
    ) -> None:
        """Write the audit rows of the held response; send it once they are committed, or a
        503 problem (and nothing of it) when they cannot be."""
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        code = int(start["status"]) if start is not None else 500
        note: AuditNote = scope["state"].get("audit") or AuditNote()
        rows = self._rows(scope, code, digest.hexdigest(), resolved, note)
        failure = await self._write(scope, rows)
        if failure is None:
            if code < 400:
                for result in note.results:
                    if result.get("band") is not None:  # a score, not a reload's versions
                        self.metrics.scored(result["band"])
            for message in held:
                await send(message)
            return
        store = self.config.store.safe_url
        # the failure names the store already (AuditUnavailable's message, or the time limit)
        log.error("%s; request %s answered 503", failure, scope["state"]["request_id"])
        detail = (
            f"the audit store ({store}) could not record this request, so its result is "
            "withheld; retry later"
        )
        response = problem(
            503, "Audit store unavailable", detail, scope["path"], headers={"Retry-After": "1"}
        )
        await response(scope, receive, send)

    async def _write(self, scope: Scope, rows: list[dict[str, Any]]) -> str | None:
        """Commit ``rows`` off the event loop within the time limit; None when committed, else
        why not (the app's audit health turns unhealthy and the failure is counted)."""
        store = self.config.store
        if self._writers is None:
            self._writers = anyio.CapacityLimiter(AUDIT_WRITERS)
        health = audit_health(scope["app"])
        job = AuditWrite(rows)
        self._group.queue(job)
        limit = audit_time_limit(store)
        try:
            with anyio.fail_after(limit):
                await anyio.to_thread.run_sync(
                    self._group.flush, job, abandon_on_cancel=True, limiter=self._writers
                )
        except AuditUnavailable as exc:
            reason, kind = str(exc), "unavailable"
        except TimeoutError:
            if job.abandon():
                reason = f"audit store {store.safe_url}: no commit within {limit:.1f} s"
                kind = "timeout"
            else:  # committed just as the time limit passed
                reason, kind = "", ""
        else:
            reason, kind = "", ""
        if not kind:
            health.recovered()
            self.metrics.audit_ready(True)
            return None
        health.failed(reason)
        self.metrics.audit_failed(kind)
        return reason

    def _rows(
        self,
        scope: Scope,
        status: int,
        request_hash: str,
        resolved: Resolved,
        note: AuditNote,
    ) -> list[dict[str, Any]]:
        """One row per entity scored, or one row for a refused or failed request (naming the
        entity asked about when known: from the route's note, else from its path). The
        purpose is the one the route checked (none when it refused it)."""
        state = scope["state"]
        key: ApiKey | None = state.get("key")
        base = {
            "at": datetime.now(UTC),
            "key_id": key.key_id if key else None,
            "role": key.role if key else None,
            "method": scope["method"][:8],
            "route": scope["path"][:200],
            "status": status,
            "purpose": state.get("purpose"),
            "request_hash": request_hash,
            "request_id": state["request_id"],
        }
        if status < 400 and note.results:
            return [_result_row(base, r) for r in note.results]
        entity = note.entity_id
        if entity is None:
            entity = resolved.params.get("entity_id")
        return [_result_row(base, {"entity_id": entity})]


def _result_row(base: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """An audit row: the request's facts and what it returned about one entity (or nothing)."""
    entity = result.get("entity_id")
    return {
        **base,
        "entity_id": (entity or None) and str(entity)[:64],
        "model_version": result.get("model_version"),
        "score": result.get("score"),
        "band": result.get("band"),
    }
