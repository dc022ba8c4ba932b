"""The pure ASGI layer around every request: the body-size limit (413), the body's hash, the
request's latency and count by route template (Prometheus), and the audit rows of the routes
marked audited (``deps.Audited``), written once the response status is known.

The route is found by the app's own routes (``resolve``), before the app runs: a request refused
here for its size is labelled and audited like any other."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.routing import BaseRoute, Match, get_route_path

from flowrisk.api.deps import PURPOSE, AuditNote, audit_note
from flowrisk.api.metrics import Metrics
from flowrisk.api.problems import ApiProblem, problem
from flowrisk.api.service import ApiConfig
from flowrisk.audit import ApiKey

__all__ = ["AuditMiddleware", "Resolved", "is_audited", "resolve"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

OTHER = "other"  # the label of requests no route matches


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


class AuditMiddleware:
    """Size limit, hash, metrics and audit around ``app`` (installed by ``add_middleware``)."""

    def __init__(self, app: ASGI, config: ApiConfig, metrics: Metrics) -> None:
        self.app, self.config, self.metrics = app, config, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        resolved = resolve(scope["app"].router.routes, scope)
        limit = self.config.max_body_bytes
        digest = hashlib.sha256()
        status = {"code": 500}
        size = 0
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        scope.setdefault("state", {})

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

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise ApiProblem(413, "Request too large", f"the body exceeds {limit:,} bytes")
            await self.app(scope, counting_receive, tracking_send)
        except ApiProblem as exc:
            response = problem(exc.status, exc.title, exc.detail, scope["path"])
            await response(scope, receive, tracking_send)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], resolved.label, status["code"], elapsed)
            if resolved.audited:
                self._audit(scope, headers, status["code"], digest.hexdigest(), resolved)

    def _audit(
        self,
        scope: Scope,
        headers: dict[bytes, bytes],
        status: int,
        request_hash: str,
        resolved: Resolved,
    ) -> None:
        """One row per entity scored, or one row for a refused or failed request (naming the
        entity asked about when known: from the route's note, else from its path)."""
        state = scope["state"]
        key: ApiKey | None = state.get("key")
        purpose = headers.get(PURPOSE.lower().encode(), b"").decode(errors="replace")[:200]
        base = {
            "at": datetime.now(UTC),
            "key_id": key.key_id if key else None,
            "role": key.role if key else None,
            "method": scope["method"],
            "route": scope["path"][:200],
            "status": status,
            "purpose": purpose or None,
            "request_hash": request_hash,
        }
        note: AuditNote = state.get("audit") or AuditNote()
        if status < 400 and note.results:
            rows = [_result_row(base, r) for r in note.results]
            for r in note.results:
                self.metrics.scored(r.get("band"))
        else:
            entity = note.entity_id
            if entity is None:
                entity = resolved.params.get("entity_id")
            rows = [_result_row(base, {"entity_id": entity})]
        self.config.store.append(rows)


def _result_row(base: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """An audit row: the request's facts and what it returned about one entity (or nothing)."""
    entity = result.get("entity_id")
    return {
        **base,
        "entity_id": (entity or None) and entity[:64],
        "model_version": result.get("model_version"),
        "score": result.get("score"),
        "band": result.get("band"),
    }
