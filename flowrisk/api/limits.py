"""The service's limits: the size and count of a request's headers (431), how long a request may
take (503), and how many failed authentications a key id or client address may make in a minute
(429). The server itself refuses a request head past a hard cap (``CappedH11Protocol``), so
that a huge header cannot hold the event loop before any of this code runs.

Layers, outermost first (``create_app``): the server's hard cap on the request head, the JSON
request log, the audit middleware, then ``LimitsMiddleware`` (headers, then the timeout around
the app), then the routes, whose key check consults ``AuthFailures``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from uvicorn.protocols.http.h11_impl import H11Protocol

from flowrisk.api.problems import PROBLEM, problem

__all__ = [
    "HEAD_SLACK_BYTES",
    "AuthFailures",
    "CappedH11Protocol",
    "LimitsMiddleware",
    "failure_bucket",
    "header_refusal",
    "server_header_cap",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADERS_TITLE = "Request header fields too large"
TIMEOUT_TITLE = "Request timed out"
HEAD_SLACK_BYTES = 64 * 1024
"""What the server's hard cap allows beyond ``max_header_bytes``: the request line and each
header line's framing. Between the two, ``LimitsMiddleware`` answers (and the request is
audited and logged with its route); past the cap the server answers without reading more."""

LINGER_SECONDS = 2.0
log = logging.getLogger("flowrisk.api")


def header_refusal(
    headers: Sequence[tuple[bytes, bytes]], max_bytes: int, max_count: int
) -> str | None:
    """Why ``headers`` break the limits (the count first, then the total size of names and
    values), or None when they keep within them."""
    if len(headers) > max_count:
        return f"the request has {len(headers):,} header fields; at most {max_count:,}"
    total = sum(len(name) + len(value) for name, value in headers)
    if total > max_bytes:
        return f"the request's headers total {total:,} bytes; at most {max_bytes:,}"
    return None


class LimitsMiddleware:
    """Header limits (431) and the request timeout (503) around ``app``.

    The app runs in a task of its own that the request stops waiting for at the timeout: a
    synchronous route's thread cannot be interrupted (anyio waits for it even when cancelled),
    so the scoring thread finishes its work and its result is dropped, holding a worker thread
    until then. The audit middleware outside this one sees (and records) the 503."""

    def __init__(
        self, app: ASGI, max_header_bytes: int, max_headers: int, request_timeout: float
    ) -> None:
        self.app = app
        self.max_header_bytes, self.max_headers = max_header_bytes, max_headers
        self.request_timeout = request_timeout
        self._abandoned: set[asyncio.Task[None]] = set()  # referenced until they end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        refusal = header_refusal(headers, self.max_header_bytes, self.max_headers)
        if refusal is not None:
            await problem(431, HEADERS_TITLE, refusal, scope["path"])(scope, receive, send)
            return
        state = {"started": False, "late": False}

        async def guarded_send(message: Message) -> None:
            if state["late"]:
                return  # the request was answered 503: what the app sends now is dropped
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        try:
            await asyncio.wait({task}, timeout=self.request_timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task.done():
            task.result()  # the app's own exception, if any, goes on up
            return
        state["late"] = True
        self._abandon(task)
        if state["started"]:  # the body was cut short: the server closes the connection
            log.warning("response cut short by the request timeout")
            return
        detail = f"no answer within {self.request_timeout:g} s; the request may be retried"
        await problem(503, TIMEOUT_TITLE, detail, scope["path"])(scope, receive, send)

    def _abandon(self, task: asyncio.Task[None]) -> None:
        """Cancel a timed-out app (effective once its thread, if any, returns) and keep it
        referenced until it ends; what it raised meanwhile is logged, not lost."""
        task.cancel()
        self._abandoned.add(task)

        def ended(done: asyncio.Task[None]) -> None:
            self._abandoned.discard(done)
            if not done.cancelled() and done.exception() is not None:
                log.error("a timed-out request failed", exc_info=done.exception())

        task.add_done_callback(ended)


_KEY_ID = re.compile(r"frk_([A-Za-z0-9]{1,16})_.")


def failure_bucket(presented: str, client: str | None) -> str:
    """Whose failures a refused key counts against: the key id it names (``frk_<id>_...``),
    else the client address (a malformed key names no id)."""
    match = _KEY_ID.match(presented)
    if match is not None:
        return f"key:{match.group(1)}"
    return f"client:{client or 'unknown'}"


class AuthFailures:
    """Failed authentications per bucket in a sliding window: once ``limit`` failures are
    within ``window`` seconds the bucket is locked until its oldest failure leaves the window.
    Only failures count, never checks in flight: a key's owner sending many requests at once
    is never locked out by their own traffic (a burst of guesses is bounded by the key
    checkers' threads, and a 256-bit secret is not guessed anyway).

    In memory, per process; at most ``max_buckets`` buckets (those whose failures have all
    left the window go first, then the least recently failed). Only the event loop touches
    it, so it needs no lock. ``clock`` is injectable for tests."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        max_buckets: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_buckets, self.clock = limit, window, max_buckets, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, bucket: str) -> int | None:
        """Whole seconds until ``bucket`` may try again, or None when it is not locked."""
        times = self._failures.get(bucket)
        if times is not None:
            now = self.clock()
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times:
                del self._failures[bucket]
                times = None
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - self.clock()))

    def failed(self, bucket: str) -> None:
        """Count one failed authentication against ``bucket``."""
        now = self.clock()
        times = self._failures.pop(bucket, None)
        if times is None:
            self._make_room(now)
            times = deque(maxlen=self.limit)  # older failures cannot matter once full
        times.append(now)
        self._failures[bucket] = times  # most recently failed last

    def _make_room(self, now: float) -> None:
        """Keep the number of buckets below ``max_buckets``."""
        if len(self._failures) < self.max_buckets:
            return
        stale = [b for b, t in self._failures.items() if not t or t[-1] <= now - self.window]
        for bucket in stale:
            del self._failures[bucket]
        while len(self._failures) >= self.max_buckets:
            self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)


def server_header_cap(max_header_bytes: int) -> int:
    """The server's hard cap on a request head (request line and headers): the header limit
    and room for the request line."""
    return max_header_bytes + HEAD_SLACK_BYTES


class CappedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol answering 431 (a problem document) instead of a plain 400 when a
    request head outgrows ``h11_max_incomplete_event_size``: h11 stops buffering there, so a
    128 MiB header costs the server at most the cap before the connection closes.

    httptools is not used: it sets no limit on a head and re-joins a header's pieces as they
    arrive, so a 128 MiB header held the event loop for tens of seconds.

    A request head must arrive whole within ``FLOWRISK_API_REQUEST_TIMEOUT_SECONDS`` of the
    connection's opening (or of the previous response on it), else the connection closes.

    After the answer the connection lingers for ``LINGER_SECONDS``, its write side shut, reading
    and dropping what the client still sends (nothing is parsed or kept): closing at once would
    reset the connection and could destroy the answer before the client reads it."""

    _lingering = False
    _head_deadline: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from flowrisk.config import get_settings

        super().__init__(*args, **kwargs)
        self.head_timeout = get_settings().api_request_timeout_seconds

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a whole head has arrived (or failed)
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_head()  # the next request on this connection has the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        """A request head must arrive whole within the request timeout, however slowly its
        bytes trickle in; past it the connection closes (a slow client holds no socket)."""
        self._stop_waiting()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _stop_waiting(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.warning("no whole request head within %g s; closing", self.head_timeout)
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        cap = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
        buffered, _ = self.conn.trailing_data
        if len(buffered) <= cap:
            super().send_400_response(msg)
            return
        self.logger.warning("request head of more than %d bytes refused (431)", cap)
        body = json.dumps(
            {
                "type": "about:blank",
                "title": HEADERS_TITLE,
                "status": 431,
                "detail": f"the request head exceeds {cap:,} bytes",
            }
        ).encode()
        headers = [
            (b"content-type", PROBLEM.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        reason = b"Request Header Fields Too Large"
        event = h11.Response(status_code=431, headers=headers, reason=reason)
        for output in (
            self.conn.send(event),
            self.conn.send(h11.Data(data=body)),
            self.conn.send(h11.EndOfMessage()),
        ):
            if output:
                self.transport.write(output)
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
