"""What talking to MLflow needs around the client, without touching the process environment:
the part of the client the registry uses, which stores are local (their artifacts need a
folder), a fast reachability check of a tracking server, store failures as one-line errors,
MLflow's routine output kept out of flowrisk's, and the one place where the process-wide
tracking URI is set (MLflow's fluent run API has no other way), for a block only."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar

from flowrisk.errors import ConfigError

if TYPE_CHECKING:
    from mlflow.entities import Experiment, Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

__all__ = [
    "PROBE_SECONDS",
    "RegistryClient",
    "default_artifact_root",
    "is_local_store",
    "probe",
    "quiet_mlflow_logs",
    "silenced_stderr",
    "store_errors",
    "using_tracking_uri",
]

PROBE_SECONDS = 5.0  # an unreachable server fails here, not after MLflow's minutes of retries
P = ParamSpec("P")
T = TypeVar("T")


class RegistryClient(Protocol):
    """The part of ``mlflow.MlflowClient`` the registry uses (what a fake must provide)."""

    def get_model_version(self, name: str, version: str) -> ModelVersion: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None: ...
    def search_model_versions(self, filter_string: str | None = None) -> Sequence[ModelVersion]: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def get_run(self, run_id: str) -> Run: ...
    def get_model_version_download_uri(self, name: str, version: str) -> str: ...
    def update_model_version(
        self, name: str, version: str, description: str | None = None
    ) -> ModelVersion: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def create_experiment(self, name: str, artifact_location: str | None = None) -> str: ...


def store_errors(method: Callable[P, T]) -> Callable[P, T]:
    """A method of an object with a ``tracking_uri`` whose MLflow and I/O failures become a
    one-line :class:`ConfigError` naming the store (flowrisk's own errors pass through)."""

    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        from mlflow.exceptions import MlflowException

        try:
            return method(*args, **kwargs)
        except (MlflowException, OSError) as exc:
            uri = getattr(args[0], "tracking_uri", "?")
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"MLflow at {uri}: {first}") from exc

    return wrapped


def is_local_store(tracking_uri: str) -> bool:
    """Whether the store is a local database or folder (artifacts then go to a folder flowrisk
    chooses) rather than a server that places them itself."""
    return not tracking_uri.startswith(("http://", "https://", "databricks"))


def default_artifact_root(tracking_uri: str) -> Path | None:
    """Artifacts of a SQLite store go next to its database file (never ``./mlruns`` of the
    current folder); a server places them itself."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts"
    return None


def probe(tracking_uri: str, seconds: float = PROBE_SECONDS) -> None:
    """Fail in seconds with a one-line :class:`ConfigError` when a tracking server does not
    answer at all; any HTTP answer (even an error status) counts as reachable."""
    if not tracking_uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{tracking_uri.rstrip('/')}/health", timeout=seconds):
            return
    except urllib.error.HTTPError:
        return  # it answered: authentication or routing is MLflow's business
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(f"MLflow at {tracking_uri}: unreachable ({reason})") from exc


class _Chatter(logging.Filter):
    """Drops MLflow's routine INFO lines and its warning about pickled model classes (the
    pyfunc class is flowrisk's own code), which would bury flowrisk's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and "CloudPickle" not in record.getMessage()


def quiet_mlflow_logs() -> None:
    """Show only MLflow's (and its migrations') warnings and errors; idempotent."""
    for name in ("mlflow", "alembic"):
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, _Chatter) for f in target.filters):
                target.addFilter(_Chatter())


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """MLflow's progress bars and registration notices kept off the terminal for a block."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


@contextlib.contextmanager
def using_tracking_uri(tracking_uri: str) -> Iterator[None]:
    """MLflow's process-wide tracking URI set to ``tracking_uri`` for the block, then put back
    as it was (MLflow's setter also writes ``MLFLOW_TRACKING_URI``, which is restored too)."""
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # unsets, its variable too
        if before is not None:
            os.environ["MLFLOW_TRACKING_URI"] = before
