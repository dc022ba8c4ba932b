"""Shared fixtures: small seeded worlds from the project's own generator."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flowrisk.io import read_dataset
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
