"""Batch scoring benchmark: entities per second scored by `score_dataset` without explanations,
with explanations of the alerts (the default) and of every entity, with the peak memory of each
run, against building the same profiles alone in the same way (the floor: scoring cannot be
faster than computing its features). Each measurement runs in a fresh process.

A model is first trained on a 20,000-entity world (seed 3); the scored worlds are generated with
seed 42 and default parameters (about 122 transactions per entity).

``--one-process`` runs the modes one after the other in a single process instead (the first a
warm-up of imports and caches, then each mode once), on an existing world with ``--world``
if given, and reports what explaining costs beyond scoring: (seconds of explain-all - seconds
of explain-none) per entity, and the entities explained per second that this makes, in wall
and CPU seconds (CPU: what a shared machine's load does not inflate as much).

    python benchmarks/bench_score.py --entities 100000
    python benchmarks/bench_score.py --entities 1000000 --modes none alerts
    python benchmarks/bench_score.py --one-process --world /tmp/w100k --entities 100000
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import in_fresh_process, machine_line

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def train(folder: str, out: str) -> None:
    """Fit a model on a 20,000-entity world and pickle it with its baselines."""
    import polars as pl

    from flowrisk.features import fit_baselines
    from flowrisk.io import read_dataset
    from flowrisk.models import fit_model, snapshots, split_snapshots
    from flowrisk.synth import WorldParams, generate_world

    generate_world(WorldParams(entities=20_000, seed=3), Path(folder))
    frames = read_dataset(Path(folder))
    dates = [datetime(2025, m, 1, tzinfo=UTC) for m in (7, 9, 11)] + [AS_OF]
    baselines = fit_baselines(frames, dates[0])
    labels = pl.read_parquet(Path(folder) / "labels.parquet")
    model, _ = fit_model(split_snapshots(snapshots(frames, labels, dates, baselines)))
    Path(out).write_bytes(pickle.dumps((model, baselines)))


def generate(entities: int, folder: str) -> int:
    from flowrisk.synth import WorldParams, generate_world

    manifest = generate_world(WorldParams(entities=entities, seed=42), Path(folder))
    return int(manifest["rows"]["transactions"])


def score(folder: str, bundle: str, out: str, mode: str) -> dict[str, Any]:
    from flowrisk.models.batch import score_dataset

    model, baselines = pickle.loads(Path(bundle).read_bytes())
    run = score_dataset(Path(folder), model, baselines, Path(out), as_of=AS_OF,
                        explain_mode=mode)  # type: ignore[arg-type]
    return {"entities": run.entities, "explained": run.explained, "partitions": run.partitions}


def modes_in_one_process(folder: str, bundle: str, out: str, modes: list[str]) -> dict:
    """Every mode of ``modes`` scored in this one process, after a warm-up run of the first:
    wall and CPU seconds and the entities explained, per mode."""
    import time

    from flowrisk.models.batch import score_dataset

    model, baselines = pickle.loads(Path(bundle).read_bytes())
    timed = {}
    for k, mode in enumerate([modes[0], *modes]):
        wall, cpu = time.perf_counter(), time.process_time()
        run = score_dataset(Path(folder), model, baselines, Path(out) / f"{k}-{mode}",
                            as_of=AS_OF, explain_mode=mode)  # type: ignore[arg-type]
        if k:  # the first run warms up
            timed[mode] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                           "explained": run.explained, "entities": run.entities}
    return timed


def report_one_process(n: int, timed: dict) -> None:
    print("| entities | run | explained | wall s | CPU s | entities/s (wall) |")
    print("|---:|---|---:|---:|---:|---:|")
    for mode, t in timed.items():
        print(f"| {n:,} | explain {mode} | {t['explained']:,} | {t['wall']:.1f} | "
              f"{t['cpu']:.1f} | {n / t['wall']:,.0f} |")
    if "all" in timed and "none" in timed:
        for clock in ("wall", "cpu"):
            extra = timed["all"][clock] - timed["none"][clock]
            print(f"explain all beyond scoring ({clock}): {extra:.1f} s, "
                  f"{extra / n * 1e6:,.0f} us per entity, {n / extra:,.0f} entities/s; "
                  f"explain all / explain none = {timed['all'][clock] / timed['none'][clock]:.2f}")


def profiles_only(folder: str, bundle: str) -> int:
    from flowrisk.features import iter_profile_partitions, partitions_for
    from flowrisk.io import read_dataset

    _, baselines = pickle.loads(Path(bundle).read_bytes())
    frames = read_dataset(Path(folder))
    return sum(
        p.height for p in iter_profile_partitions(frames, AS_OF, baselines, partitions_for(frames))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, nargs="+", default=[100_000])
    parser.add_argument("--modes", nargs="+", default=["none", "alerts", "all"],
                        choices=["none", "alerts", "all"])
    parser.add_argument("--no-floor", action="store_true", help="Skip the profiles-only run.")
    parser.add_argument("--one-process", action="store_true",
                        help="Run the modes in one process and report explain-all - none.")
    parser.add_argument("--world", help="An existing world (seed 42) of --entities entities.")
    parser.add_argument("--model", help="A model pickled by an earlier run's train step.")
    args = parser.parse_args()
    import lightgbm
    import polars

    print(f"{datetime.now(UTC).date()}; "
          f"{machine_line(polars=polars.__version__, lightgbm=lightgbm.__version__)}")
    with tempfile.TemporaryDirectory() as tmp:
        bundle = args.model or str(Path(tmp) / "model.pkl")
        if not args.model:
            started = time.perf_counter()
            in_fresh_process(train, str(Path(tmp) / "train"), bundle)
            print(f"model trained in {time.perf_counter() - started:.0f} s")
        if not args.one_process:
            print("| entities | transactions | run | partitions | explained | seconds | "
                  "entities/s | peak RSS GiB | vs profiles alone |")
            print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        for n in args.entities:
            world = args.world or str(Path(tmp) / f"world{n}")
            if args.one_process:
                if not args.world:
                    in_fresh_process(generate, n, world)
                m = in_fresh_process(modes_in_one_process, world, bundle, str(Path(tmp) / "one"),
                                     args.modes)
                if m.get("failed"):
                    print(f"one-process run failed: {m['failed']}")
                    continue
                report_one_process(n, m["result"])
                print(f"peak RSS {m['peak_gib']:.2f} GiB")
                continue
            gen = in_fresh_process(generate, n, world)
            rows = gen["result"]
            floor = None
            if not args.no_floor:
                floor = in_fresh_process(profiles_only, world, bundle)
                print(f"| {n:,} | {rows:,} | profiles alone | | | {floor['seconds']:.1f} | "
                      f"{n / floor['seconds']:,.0f} | {floor['peak_gib']:.2f} | 1.00 |", flush=True)
            for mode in args.modes:
                m = in_fresh_process(score, world, bundle, str(Path(tmp) / f"out-{n}-{mode}"), mode)
                if m.get("failed"):
                    print(f"| {n:,} | {rows:,} | explain {mode} | | | failed: {m['failed']} |")
                    continue
                r = m["result"]
                ratio = f"{m['seconds'] / floor['seconds']:.2f}" if floor else "-"
                print(f"| {n:,} | {rows:,} | explain {mode} | {r['partitions']} | "
                      f"{r['explained']:,} | {m['seconds']:.1f} | {n / m['seconds']:,.0f} | "
                      f"{m['peak_gib']:.2f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
