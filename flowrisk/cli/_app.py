"""The Typer application every command module registers on, and the one error-to-exit-code map
(0 ok, 1 failure, 2 bad arguments or unreadable input)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from flowrisk.errors import DatasetError, EntityNotFound, FlowriskError, InvalidParameter
from flowrisk.io.cluster import Engine
from flowrisk.pipeline import Tick, Ticks

__all__ = [
    "Bars",
    "EngineOption",
    "SchedulerOption",
    "VerifyOption",
    "app",
    "console",
    "err_console",
    "exits",
    "fail",
    "parse_as_of",
    "progress_ticks",
    "spinner",
    "staged",
]

app = typer.Typer(
    name="flowrisk",
    help="Explainable money-laundering risk scoring of people and companies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")
E = TypeVar("E")
BAD_INPUT = (InvalidParameter, DatasetError, EntityNotFound)
VerifyOption = Annotated[
    bool,
    typer.Option(
        "--verify/--no-verify",
        help="Check each file against the SHA-256 its dataset's manifest lists (when it has one).",
    ),
]


EngineOption = Annotated[
    Engine,
    typer.Option(
        help="Where the partitions run: local (this machine), or dask (the workers of "
        "--scheduler, which must see the dataset under the same absolute path)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="Dask scheduler address for --engine dask, e.g. tcp://10.0.0.5:8786 "
        "(started with `dask scheduler`; workers with `dask worker ADDRESS`)."
    ),
]


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error: message`` on one line of stderr; the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def exits(func: Callable[P, R]) -> Callable[P, R]:
    """Turn flowrisk errors into a one-line message and an exit code (2 for bad input)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except FlowriskError as exc:
            raise fail(str(exc), 2 if isinstance(exc, BAD_INPUT) else 1) from None

    return wrapper


class Bars:
    """Progress bars on stderr (description, bar, done/total, elapsed), drawn only once a task
    first ticks, so that nothing shows for work that reports no progress."""

    def __init__(self, transient: bool = False) -> None:
        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=transient,
        )

    def tick(self, description: str) -> Tick:
        """The tick of a task named ``description``, added at its first call."""
        task: list[TaskID] = []

        def tick(done: int, total: int | None) -> None:
            if not self.progress.live.is_started:
                self.progress.start()
            if not task:
                task.append(self.progress.add_task(description, total=total))
            self.progress.update(task[0], completed=done, total=total)

        return tick

    def stop(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()


@contextmanager
def progress_ticks(transient: bool = False) -> Iterator[Bars]:
    """Bars for the named tasks a service reports (``bars.tick`` is a :data:`Ticks`)."""
    bars = Bars(transient)
    try:
        yield bars
    finally:
        bars.stop()


def staged(make: Callable[[Ticks], Iterator[E]]) -> Iterator[E]:
    """The events of a staged service, with its progress bars shown only while a stage runs
    (so that what is printed between stages goes to stdout, not into the live display)."""
    current: list[Bars] = []
    events = make(lambda description: current[-1].tick(description))
    while True:
        current.append(Bars())
        try:
            event = next(events)
        except StopIteration:
            return
        finally:
            current.pop().stop()
        yield event


@contextmanager
def spinner(description: str) -> Iterator[Callable[[str], None]]:
    """An elapsed-time line for work without a known length; yields a step-naming callback."""
    with Progress(
        "[progress.description]{task.description}",
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)
        yield lambda text: bar.update(task, description=text)


def parse_as_of(value: str, option: str = "--as-of") -> datetime:
    """An ISO date or datetime in UTC (naive values are taken as UTC)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameter(option, f"{value!r} is not an ISO date or datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
