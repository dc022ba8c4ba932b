"""Dask engine benchmark: every distributed stage against the local engine on the same data.

One world is generated; a two-worker ``distributed.LocalCluster`` (one process and one thread
per worker, on this machine) is started; then each stage runs with the local engine and with
``--engine dask`` in this process, one after the other, and their outputs are asserted
identical (validation report and files, profiles and baselines files, training snapshots). The
LightGBM fit is compared by validation average precision (a distributed fit is not
bit-identical). Ratios are dask seconds / local seconds of the same run: on one machine the
cluster's workers share the cores local Polars already uses, so the ratio is the engine's
overhead, not a speed-up (that needs more machines).

    python benchmarks/bench_dask.py --entities 20000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from _common import machine_line
from polars.testing import assert_frame_equal


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def _same_folders(a: Path, b: Path) -> None:
    for file in sorted(a.rglob("*.parquet")):
        assert_frame_equal(pl.read_parquet(b / file.relative_to(a)), pl.read_parquet(file))


def _validation(world: Path, work: Path, address: str, rules: str) -> tuple[float, float]:
    from flowrisk.data_contracts import validate_dataset

    now = datetime.fromisoformat("2026-06-01T00:00:00+00:00")
    kwargs: dict[str, Any] = {"engine": rules, "chunk_rows": 250_000, "now": now}
    here, local = _timed(
        lambda: validate_dataset(world, quarantine=work / f"v_{rules}_l", **kwargs)
    )
    there, dask = _timed(
        lambda: validate_dataset(
            world, quarantine=work / f"v_{rules}_d", scheduler=address, **kwargs
        )
    )
    assert there.to_dict() == here.to_dict()
    _same_folders(work / f"v_{rules}_l", work / f"v_{rules}_d")
    return local, dask


def _features(world: Path, work: Path, address: str, as_of: datetime) -> tuple[float, float]:
    from flowrisk.pipeline import write_profiles

    (here, _), local = _timed(
        lambda: write_profiles(world, as_of, work / "p_l.parquet", partitions=4)
    )
    (there, _), dask = _timed(
        lambda: write_profiles(
            world, as_of, work / "p_d.parquet", partitions=4, engine="dask", scheduler=address
        )
    )
    assert_frame_equal(pl.read_parquet(there.path), pl.read_parquet(here.path))
    assert there.baselines_path.read_text() == here.baselines_path.read_text()
    return local, dask


def _snapshots(world: Path, client: Any) -> tuple[float, float, Any]:
    from flowrisk.features import Partitioned, fit_baselines
    from flowrisk.io import read_labelled
    from flowrisk.models import snapshots, split_snapshots
    from flowrisk.models.dataset import snapshot_dates

    frames, labels, _ = read_labelled(world, "training")
    dates = snapshot_dates(frames)
    baselines = fit_baselines(frames, dates[0])
    here, local = _timed(lambda: snapshots(frames, labels, dates, baselines))
    on = Partitioned(str(world.resolve()), 4, client)
    there, dask = _timed(lambda: snapshots(frames, labels, dates, baselines, on=on))
    assert_frame_equal(there, here)
    return local, dask, split_snapshots(here, seed=42)


def _fits(split: Any, client: Any) -> dict[str, float]:
    from sklearn.metrics import average_precision_score

    from flowrisk.features import feature_names
    from flowrisk.models.learner import fit_booster, predict_best
    from flowrisk.models.learner_dask import fit_booster_dask
    from flowrisk.models.train import design

    names = feature_names()
    x, y = design(split.train, names)
    xv, yv = design(split.valid, names)
    xt, yt = design(split.test, names)
    local, t_local = _timed(lambda: fit_booster(x, y, xv, yv, names=names, seed=1))
    dask, t_dask = _timed(lambda: fit_booster_dask(client, x, y, xv, yv, names=names, seed=1))
    return {
        "local_s": t_local,
        "dask_s": t_dask,
        "local_rounds": local.best_iteration,
        "dask_rounds": dask.best_iteration,
        "local_test_ap": float(average_precision_score(yt, predict_best(local, xt))),
        "dask_test_ap": float(average_precision_score(yt, predict_best(dask, xt))),
        "train_rows": len(x),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    import dask
    import lightgbm
    from distributed import Client, LocalCluster

    from flowrisk.io import read_dataset
    from flowrisk.models.dataset import scoring_date
    from flowrisk.synth import WorldParams, generate_world

    print(machine_line(polars=pl.__version__, dask=dask.__version__, lightgbm=lightgbm.__version__))
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        world = work / "world"
        manifest = generate_world(WorldParams(entities=args.entities, seed=42), world)
        print(
            f"world: {args.entities:,} entities, {manifest['rows']['transactions']:,} transactions"
        )
        as_of = scoring_date(read_dataset(world, tables=["transactions"]))
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
                processes=True,
            ) as cluster,
            Client(cluster) as client,
        ):
            address = cluster.scheduler_address
            rows = {
                "validate (gx rules)": _validation(world, work, address, "gx"),
                "validate (polars rules)": _validation(world, work, address, "polars"),
                "features (4 partitions)": _features(world, work, address, as_of),
            }
            local, dask_s, split = _snapshots(world, client)
            rows["training snapshots (4 dates x 4 partitions)"] = (local, dask_s)
            fits = _fits(split, client)
    print("| stage | local s | dask s | dask / local | outputs |")
    print("|---|---:|---:|---:|---|")
    for stage, (local, dask_s) in rows.items():
        print(f"| {stage} | {local:.1f} | {dask_s:.1f} | {dask_s / local:.2f} | identical |")
    print(
        f"| LightGBM fit ({fits['train_rows']:,} rows) | {fits['local_s']:.1f} | "
        f"{fits['dask_s']:.1f} | {fits['dask_s'] / fits['local_s']:.2f} | test AP "
        f"{fits['local_test_ap']:.3f} local ({fits['local_rounds']} rounds), "
        f"{fits['dask_test_ap']:.3f} dask ({fits['dask_rounds']} rounds) |"
    )
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps({"fits": fits}))


if __name__ == "__main__":
    main()
