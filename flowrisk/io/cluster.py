"""Running partition functions on this machine or on a Dask cluster, with the same results.

Every heavy stage (validation, profiles, training snapshots, batch scoring) splits its work into
calls of one module-level function that reads the dataset path itself; :func:`in_order` runs
those calls one after another here, or submits them all to a Dask scheduler and yields the
results in call order, so both engines write identical files. A worker must see the dataset
under the same path as the machine that submits the work.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from flowrisk.errors import InvalidParameter

__all__ = ["Engine", "check_engine", "dask_client", "in_order", "on_cluster"]

Engine = Literal["local", "dask"]  # where partitions run
R = TypeVar("R")


def check_engine(engine: str, scheduler: str | None) -> None:
    """Refuse an unknown engine, and the dask engine without a scheduler address."""
    if engine not in ("local", "dask"):
        raise InvalidParameter("engine", f"must be local or dask, got {engine!r}")
    if engine == "dask" and not scheduler:
        raise InvalidParameter("--scheduler", "the dask engine needs a scheduler address")


def dask_client(scheduler: str) -> Any:
    """A Dask client, failing in seconds with the address named when nothing answers there."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise InvalidParameter(
            "engine", "dask needs the distributed package: pip install 'flowrisk[dask]'"
        ) from exc
    address = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    try:
        if address.hostname and address.port:
            socket.create_connection((address.hostname, address.port), timeout=5).close()
        return Client(scheduler, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InvalidParameter("--scheduler", f"no Dask scheduler at {scheduler}: {exc}") from exc


@contextmanager
def on_cluster(scheduler: str | None) -> Iterator[Any]:
    """A client of ``scheduler`` for the block (None: no cluster, run here), closed after."""
    if scheduler is None:
        yield None
        return
    client = dask_client(scheduler)
    try:
        yield client
    finally:
        client.close()


def in_order(
    func: Callable[..., R],
    calls: Sequence[tuple[Any, ...]],
    client: Any = None,
    shared: Mapping[str, Any] | None = None,
) -> Generator[R, None, None]:
    """``func(*call, **shared)`` for each call, results in call order: here one after another
    when ``client`` is None, else all submitted to its cluster at once (``shared`` sent to every
    worker once, not with each call). Close it (or read it to the end) while the client is
    open: that cancels what was not read."""
    shared = dict(shared or {})
    if client is None:
        for call in calls:
            yield func(*call, **shared)
        return
    names = list(shared)
    sent = client.scatter([shared[n] for n in names], broadcast=True) if names else []
    kwargs = dict(zip(names, sent, strict=True))
    futures = [client.submit(func, *call, **kwargs, pure=False) for call in calls]
    try:
        for future in futures:
            yield future.result()
    finally:
        client.cancel(futures)
