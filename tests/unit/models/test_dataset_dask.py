"""Training snapshots and sector baselines built partition by partition on a Dask cluster are
the frames built here in one go: same rows, same order, same values, hence the same split."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from polars.testing import assert_frame_equal

from flowrisk.features import Partitioned, fit_baselines, fit_baselines_partitioned
from flowrisk.models import snapshots, split_snapshots
from tests.conftest import TRAIN_DATES, TrainedWorld

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


def test_snapshots_on_dask_equal_the_local_ones(
    trained_world: TrainedWorld, client: object
) -> None:
    t = trained_world
    on = Partitioned(str(t.folder.resolve()), 3, client)
    baselines = fit_baselines_partitioned(t.frames, TRAIN_DATES[0], on)
    assert_frame_equal(baselines.sector, fit_baselines(t.frames, TRAIN_DATES[0]).sector)
    assert baselines.to_json() == t.baselines.to_json()
    there = snapshots(t.frames, t.labels, TRAIN_DATES, baselines, on=on)
    here = snapshots(t.frames, t.labels, TRAIN_DATES, t.baselines)
    assert there.height == 6_000 * len(TRAIN_DATES)
    assert_frame_equal(there, here)
    assert split_snapshots(there, seed=1).describe() == t.split.describe()
