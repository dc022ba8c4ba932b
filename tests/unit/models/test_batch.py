"""Batch scoring: partitions, explanations of alerts, parity with one-shot and one-entity
scoring, feature drift counted per partition as on the whole population, and a real Dask
cluster (LocalCluster on 127.0.0.1) giving identical files and drift."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flowrisk.errors import InvalidParameter
from flowrisk.features import build_profiles, frames_for_entities
from flowrisk.models.batch import score_dataset
from flowrisk.models.drift import bin_counts, drift_report
from tests.bands import assert_bands_follow_scores
from tests.conftest import TrainedWorld


@pytest.fixture(scope="module")
def local(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    t = trained_world
    out = tmp_path_factory.mktemp("scores_local")
    seen = []
    run = score_dataset(
        t.folder,
        t.model,
        t.baselines,
        out,
        as_of=t.as_of,
        partitions=3,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (3, 3) and run.entities == 6_000
    assert sum(run.bands.values()) == 6_000
    return out


@pytest.fixture(scope="module")
def profiles(trained_world: TrainedWorld) -> pl.DataFrame:
    """Every entity's profile at the scoring date, built in one go."""
    t = trained_world
    return build_profiles(t.frames, t.as_of, t.baselines).collect()


def test_scores_equal_one_shot_and_one_entity_scoring(
    trained_world: TrainedWorld, local: Path, profiles: pl.DataFrame
) -> None:
    t = trained_world
    scores = pl.read_parquet(local / "scores.parquet").sort("entity_id")
    once = t.model.score(profiles).sort("entity_id")
    assert scores["entity_id"].to_list() == once["entity_id"].to_list()
    assert scores["probability"].to_list() == once["probability"].to_list()
    assert scores["band"].to_list() == once["band"].to_list()
    # the API's path: one entity's neighbourhood only
    critical = scores.filter(pl.col("band") == "critical")["entity_id"].head(5).to_list()
    for entity in [*critical, scores["entity_id"][0]]:
        sub = frames_for_entities(t.frames, [entity], t.as_of)
        alone = t.model.score(build_profiles(sub, t.as_of, t.baselines, [entity]).collect())
        expected = scores.filter(pl.col("entity_id") == entity)
        assert alone["probability"][0] == expected["probability"][0]


def test_alerts_are_explained(local: Path) -> None:
    scores = pl.read_parquet(local / "scores.parquet")
    explained = pl.read_parquet(local / "explanations.parquet")
    alerts = scores.filter(pl.col("band").cast(pl.String).is_in(["high", "critical"]))
    assert sorted(explained["entity_id"]) == sorted(alerts["entity_id"])
    joined = explained.join(scores, on="entity_id")
    assert (joined["probability"] == joined["probability_right"]).all()


def test_drift_counted_per_partition_equals_the_whole_population(
    trained_world: TrainedWorld, local: Path, profiles: pl.DataFrame
) -> None:
    t = trained_world
    reference = t.model.reference
    assert reference is not None and reference.as_of == t.as_of.isoformat()
    recorded = json.loads((local / "run.json").read_text(encoding="utf-8"))["drift"]
    assert recorded == asdict(drift_report(reference, bin_counts(reference, profiles)))
    assert recorded["status"] == "computed" and recorded["scored_rows"] == 6_000
    assert set(recorded["psi"]) == set(t.model.features)
    assert recorded["drifting"] == [] and recorded["max_psi"] < 0.1  # its own world, same date


def test_dask_local_cluster_gives_identical_files(
    trained_world: TrainedWorld, local: Path, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    t = trained_world
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        processes=True,
    ) as cluster:
        run = score_dataset(
            t.folder,
            t.model,
            t.baselines,
            tmp_path,
            as_of=t.as_of,
            partitions=3,
            engine="dask",
            scheduler=cluster.scheduler_address,
        )
    assert run.engine == "dask" and run.entities == 6_000
    recorded = json.loads((local / "run.json").read_text(encoding="utf-8"))["drift"]
    assert run.drift is not None and asdict(run.drift) == recorded
    for name in ("scores.parquet", "explanations.parquet"):
        assert_frame_equal(pl.read_parquet(tmp_path / name), pl.read_parquet(local / name))


def test_bad_options_are_refused(trained_world: TrainedWorld, tmp_path: Path) -> None:
    t = trained_world
    with pytest.raises(InvalidParameter, match="explain"):
        score_dataset(t.folder, t.model, t.baselines, tmp_path, as_of=t.as_of, explain_mode="some")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="scheduler"):
        score_dataset(t.folder, t.model, t.baselines, tmp_path, as_of=t.as_of, engine="dask")
    with pytest.raises(InvalidParameter, match="no Dask scheduler"):
        score_dataset(
            t.folder,
            t.model,
            t.baselines,
            tmp_path,
            as_of=t.as_of,
            engine="dask",
            scheduler="tcp://127.0.0.1:9",
        )


def test_the_parquet_bands_follow_its_scores(local: Path) -> None:
    scores = pl.read_parquet(local / "scores.parquet")
    assert_bands_follow_scores(zip(scores["score"], scores["band"].cast(pl.String), strict=True))
    assert scores["probability"].min() > 0 and scores["probability"].max() < 1
