"""Shared fixtures: small seeded worlds from the project's own generator."""

from __future__ import annotations

import os

# two test workers share two cores: OpenMP threads that spin while waiting (LightGBM's default)
# would starve the other worker
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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


@pytest.fixture(scope="session")
def trained_world(tmp_path_factory: pytest.TempPathFactory) -> TrainedWorld:
    from flowrisk.features import fit_baselines
    from flowrisk.models import fit_model, snapshots, split_snapshots

    folder = tmp_path_factory.mktemp("trained_world")
    generate_world(WorldParams(entities=6_000, seed=8), folder)
    frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
    labels = pl.read_parquet(folder / "labels.parquet")
    baselines = fit_baselines(frames, TRAIN_DATES[0])
    split = split_snapshots(snapshots(frames, labels, TRAIN_DATES, baselines), seed=1)
    model, _ = fit_model(split, seed=2)
    return TrainedWorld(folder, frames, labels, baselines, model, split, TRAIN_DATES[-1])
