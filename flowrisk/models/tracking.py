"""What talking to MLflow needs around the client, without touching the process environment:
the part of the client the registry uses, which stores are local (their artifacts need a
folder), a fast reachability check of a tracking server, store failures as one-line errors,
MLflow's routine output kept out of flowrisk's, the one place where the process-wide
tracking URI is set (MLflow's fluent run API has no other way), for a block only, and the
conventions every flowrisk run follows: its name, its tags, its datasets and its per-round
curves sent in batches."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from flowrisk.errors import ConfigError

if TYPE_CHECKING:
    import polars as pl
    from mlflow.entities import Experiment, Metric, Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

__all__ = [
    "CURVE_BATCH",
    "PROBE_SECONDS",
    "CurveLogger",
    "RegistryClient",
    "default_artifact_root",
    "git_commit",
    "is_local_store",
    "log_datasets",
    "probe",
    "quiet_mlflow_logs",
    "run_name",
    "run_tags",
    "silenced_stderr",
    "store_errors",
    "store_failures",
    "using_tracking_uri",
]

PROBE_SECONDS = 5.0  # an unreachable server fails here, not after MLflow's minutes of retries
CURVE_BATCH = 100  # points of a curve per request: a 600-round fit costs six calls, not 600
GIT_SECONDS = 2.0  # how long asking git for flowrisk's commit may take
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


@contextlib.contextmanager
def store_failures(tracking_uri: str) -> Iterator[None]:
    """MLflow and I/O failures of the block as a one-line :class:`ConfigError` naming the store
    (for logging code that is not a method of a registry)."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (MlflowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"MLflow at {tracking_uri}: {first}") from exc


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


# the conventions of flowrisk's runs


def run_name(kind: str, dataset: str, at: datetime | None = None) -> str:
    """A run's name as a data scientist reads it in a list of runs: what it did, on which
    dataset, when (UTC, to the second), e.g. ``train world 2026-03-02 14:05:07``."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    return f"{kind} {dataset} {when:%Y-%m-%d %H:%M:%S}"


@functools.cache
def git_commit() -> str | None:
    """The commit flowrisk's code comes from: the one pip recorded for an install from a
    repository, else the checkout's ``HEAD`` (with ``-dirty`` when files differ), else None."""
    import importlib.metadata
    import json

    with contextlib.suppress(importlib.metadata.PackageNotFoundError, ValueError, TypeError):
        text = importlib.metadata.distribution("flowrisk").read_text("direct_url.json")
        commit = json.loads(text or "{}").get("vcs_info", {}).get("commit_id")
        if commit:
            return str(commit)
    folder = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args],
                capture_output=True,
                text=True,
                timeout=GIT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    if not head:
        return None
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "flowrisk")
    return f"{head}-dirty" if changed else head


def run_tags(
    kind: str, *, dataset: Path, label: str, digest: str, extra: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The tags of every flowrisk run (``flowrisk.*``): what kind of run, flowrisk's version and
    commit, the dataset (name, path, digest) and the feature set."""
    from flowrisk import __version__
    from flowrisk.features import FEATURE_SET, FEATURE_SET_VERSION

    tags = {
        "flowrisk.kind": kind,
        "flowrisk.version": __version__,
        "flowrisk.dataset": label,
        "flowrisk.dataset_path": str(dataset.resolve()),
        "flowrisk.dataset_digest": digest,
        "flowrisk.feature_set": FEATURE_SET,
        "flowrisk.feature_set_version": str(FEATURE_SET_VERSION),
    }
    if (commit := git_commit()) is not None:
        tags["flowrisk.git_commit"] = commit
    return {**tags, **{k: str(v) for k, v in (extra or {}).items()}}


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Enum and categorical columns as strings, which is how MLflow's schema holds them (it
    would otherwise say so, once per column, on the terminal)."""
    import polars as pl

    coded = [c for c, t in frame.schema.items() if isinstance(t, pl.Enum | pl.Categorical)]
    return frame.with_columns(pl.col(coded).cast(pl.String)) if coded else frame


def log_datasets(
    parts: Mapping[str, pl.DataFrame], *, dataset: Path, label: str, digest: str
) -> None:
    """Log each frame of ``parts`` (context -> labelled profiles, e.g. ``training``) as an
    MLflow dataset input of the active run: its source is the dataset folder, its target the
    label, and a tag carries the dataset's digest (MLflow's own digest is of the frame)."""
    import mlflow
    from mlflow.data.polars_dataset import from_polars

    names = {"training": "train", "validation": "valid", "test": "test"}
    with warnings.catch_warnings():
        # MLflow registers its local-file source twice and warns that a path is ambiguous
        warnings.filterwarnings(
            "ignore", message="The specified dataset source", category=UserWarning
        )
        inputs = [
            from_polars(
                _plain(frame),
                source=dataset.resolve().as_uri(),
                targets="label",
                name=f"{label} {names.get(context, context)}",
            )
            for context, frame in parts.items()
        ]
    mlflow.log_inputs(
        datasets=list(inputs),
        contexts=list(parts),
        tags_list=[{"flowrisk.dataset_digest": digest} for _ in parts],
    )


class CurveLogger:
    """One metric of a run heard step by step (a LightGBM round and its validation value) and
    sent to the store in batches of :data:`CURVE_BATCH` points, each point keeping the time it
    was heard; :meth:`flush` sends what is left (call it when the fit ends)."""

    def __init__(self, tracking_uri: str, run_id: str, key: str, batch: int = CURVE_BATCH) -> None:
        from mlflow import MlflowClient

        self.tracking_uri, self.run_id, self.key, self.batch = tracking_uri, run_id, key, batch
        self._client = MlflowClient(tracking_uri)
        self._pending: list[Metric] = []
        self.points = 0

    def __call__(self, step: int, value: float) -> None:
        from mlflow.entities import Metric

        self._pending.append(Metric(self.key, float(value), int(time.time() * 1000), int(step)))
        self.points += 1
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Send the points heard since the last batch (nothing when there are none)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        with store_failures(self.tracking_uri):
            self._client.log_batch(self.run_id, metrics=pending)
