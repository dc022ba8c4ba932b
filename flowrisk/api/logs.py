"""Structured logs: one JSON object a line on stderr for every request (``RequestLogMiddleware``),
for the service's start and stop, for errors, and for uvicorn's own messages (``log_config``).

A request line names the request id, method, route template (never the path: it holds the
entity asked about), status, latency and the key id; never a key, a secret, the purpose or a
query string. Lines are written by a background thread from a bounded queue
(``BackgroundStderrHandler``): a slow or blocked stderr never holds the event loop, and lines
that do not fit are counted and reported rather than waited for.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, Literal

from flowrisk.api.middleware import resolve

__all__ = [
    "LOG_LEVELS",
    "BackgroundStderrHandler",
    "JsonFormatter",
    "LogLevel",
    "RequestLogMiddleware",
    "log_config",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
REQUESTS = "flowrisk.api.requests"
QUEUE_LINES = 10_000
_RAW_REQUEST_ID = b"x-request-id"  # the response header the audit middleware adds

log = logging.getLogger(REQUESTS)


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time (ISO 8601 with zone, UTC), level, logger, process id,
    message, the record's ``fields`` (``extra={"fields": {...}}``) and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class BackgroundStderrHandler(logging.handlers.QueueHandler):
    """Formats in the caller, writes to stderr from a thread; a full queue drops the line and
    counts it (the count is logged with the next line that fits)."""

    def __init__(self, maxsize: int = QUEUE_LINES) -> None:
        super().__init__(queue.Queue(maxsize))
        self.dropped = 0
        writer = logging.StreamHandler(sys.stderr)  # the default format: the prepared line
        self.listener = logging.handlers.QueueListener(self.queue, writer)
        self.listener.start()

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            return
        if self.dropped:
            lost, self.dropped = self.dropped, 0
            note = logging.makeLogRecord({"name": __name__, "levelno": logging.WARNING})
            note.levelname, note.msg = "WARNING", f"{lost} log lines dropped (stderr too slow)"
            self.handle(note)

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        if self.listener._thread is not None:  # stopping twice would hang
            self.listener.stop()
        super().close()


def log_config(level: LogLevel = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` (and uvicorn ``log_config``): flowrisk's and uvicorn's
    loggers at ``level`` (other libraries at warning or above), all as JSON on stderr."""
    upper = level.upper()
    others = "ERROR" if level == "error" else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": {"()": f"{__name__}.BackgroundStderrHandler", "formatter": "json"}},
        "loggers": {
            "flowrisk": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"level": upper},
        },
        "root": {"handlers": ["stderr"], "level": others},
    }


def _level(status: int) -> int:
    """Server errors are errors; refusals for limits are warnings; the rest is information."""
    if status >= 500:
        return logging.ERROR
    if status in (429, 431):
        return logging.WARNING
    return logging.INFO


class RequestLogMiddleware:
    """One JSON line per HTTP request, once its response is sent (or its app has failed)."""

    def __init__(self, app: ASGI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response: dict[str, Any] = {"status": 500, "request_id": None}

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                for name, value in message.get("headers") or ():
                    if name.lower() == _RAW_REQUEST_ID:
                        response["request_id"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, logging_send)
        except Exception as exc:
            response["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise
        finally:
            self._log(scope, response, time.perf_counter() - started)

    def _log(self, scope: Scope, response: dict[str, Any], elapsed: float) -> None:
        """The request's line, at a level its status decides."""
        status = int(response["status"])
        level = _level(status)
        if not log.isEnabledFor(level):
            return
        state = scope.get("state") or {}
        key = state.get("key")
        route = scope.get("route")
        template = getattr(route, "path", None) or resolve(scope["app"].router.routes, scope).label
        client = scope.get("client")
        fields: dict[str, Any] = {
            "request_id": response["request_id"] or state.get("request_id"),
            "method": scope["method"],
            "route": template,
            "status": status,
            "latency_ms": round(elapsed * 1000, 3),
            "key_id": key.key_id if key is not None else None,
            "client": client[0] if client else None,
        }
        refused = state.get("refused_key")
        if refused is not None:
            fields["refused"] = refused  # "key:<id>" or "client:<address>", never the secret
        if "error" in response:
            fields["error"] = response["error"]
        message = f"{scope['method']} {template} {status}"
        log.log(level, message, extra={"fields": fields})
