"""Shared fixtures: small seeded worlds from the project's own generator."""

from __future__ import annotations

import os
import tempfile

# two test workers share two cores: OpenMP threads that spin while waiting (LightGBM's default)
# would starve the other worker
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Hypothesis keeps its example database and caches outside the checkout
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "flowrisk-hypothesis")
)

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from flowrisk.features import Baselines
from flowrisk.io import read_dataset
from flowrisk.models import RiskModel, Split
from flowrisk.schema import TABLES
from flowrisk.synth import WorldParams, generate_world

ROOT = Path(__file__).resolve().parents[1]
# what tools may leave in a checkout; anything else a test run adds is a test writing into it
TOOL_CACHES = (".venv/", ".pytest_cache/", ".ruff_cache/", ".mypy_cache/", "__pycache__/")


def _tree_state() -> set[str] | None:
    """Changed, untracked and ignored paths of the checkout (None outside a git checkout)."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    paths = {line[3:] for line in done.stdout.splitlines()}
    return {p for p in paths if not any(c in p or p.endswith(c[:-1]) for c in TOOL_CACHES)}


_TREE = pytest.StashKey[set[str] | None]()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, not an xdist worker
        session.config.stash[_TREE] = _tree_state()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when it left files in the checkout that were not there before."""
    before = session.config.stash.get(_TREE, None)
    after = _tree_state() if before is not None else None
    if before is None or after is None:
        return
    added = sorted(after - before)
    if added:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests wrote into the checkout: {', '.join(added)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _flowrisk_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test gets its own FLOWRISK_HOME outside the checkout (the default, ./.flowrisk,
    would put MLflow stores and audit databases into the repository)."""
    from flowrisk.config import get_settings

    mp = pytest.MonkeyPatch()
    mp.setenv("FLOWRISK_HOME", str(tmp_path_factory.mktemp("home")))
    get_settings.cache_clear()
    yield
    mp.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def world_params() -> WorldParams:
    """A world big enough for every typology to have dozens of members."""
    return WorldParams(entities=20_000, months=12, seed=11, chunk_entities=5_000)


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory, world_params: WorldParams) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(world_params, out)
    return out


@pytest.fixture(scope="session")
def world(world_dir: Path) -> dict[str, pl.DataFrame]:
    """Every table of the session world, collected."""
    frames = read_dataset(world_dir, tables=list(TABLES))
    return {name: frame.collect() for name, frame in frames.items()}


@pytest.fixture(scope="session")
def small_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small_world")
    generate_world(WorldParams(entities=2_000, seed=5, chunk_entities=1_000), out)
    return out


@dataclass(frozen=True)
class TrainedWorld:
    """A 6,000-entity world and a model trained on three of its snapshots."""

    folder: Path
    frames: dict[str, pl.LazyFrame]  # collected once, lazily re-read
    labels: pl.DataFrame
    baselines: Baselines
    model: RiskModel
    split: Split
    as_of: datetime  # the last snapshot (the held-out date)


TRAIN_DATES = [datetime(2025, m, 1, tzinfo=UTC) for m in (8, 10, 12)]
TRAINED_WORLD = WorldParams(entities=6_000, seed=8)  # the world training tests share


@pytest.fixture(scope="session")
def trained_world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 6,000-entity world (seed 8) that training tests share: generated once per session
    (per test worker); tests read it and never write into it."""
    folder = tmp_path_factory.mktemp("trained_world")
    generate_world(TRAINED_WORLD, folder)
    return folder


@pytest.fixture(scope="session")
def trained_world(trained_world_dir: Path) -> TrainedWorld:
    from flowrisk.features import fit_baselines
    from flowrisk.models import fit_model, snapshots, split_snapshots

    folder = trained_world_dir
    frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
    labels = pl.read_parquet(folder / "labels.parquet")
    baselines = fit_baselines(frames, TRAIN_DATES[0])
    split = split_snapshots(snapshots(frames, labels, TRAIN_DATES, baselines), seed=1)
    model, _ = fit_model(split, seed=2)
    return TrainedWorld(folder, frames, labels, baselines, model, split, TRAIN_DATES[-1])


def run_flowrisk(
    env: dict[str, str], *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """The ``flowrisk`` command in a subprocess with ``env``, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "flowrisk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
