"""Console entity page benchmark: the server-side time of ``/ui/entities/{id}`` for the entity of
a generated world whose year before ``as_of`` holds closest to 1,000 transactions, against a
plain ``score_frames`` call of the same entity (what ``GET /v1/entities/{id}/score`` does).

Timings, each over ``--renders`` repeated renders after a warm-up, GC frozen as the service
does (wall time, and the CPU time of the process, which a shared machine inflates less):
- baseline: ``frames_for`` + ``score_frames`` with explanations (the feature path of a lookup);
- view: ``frames_for`` + ``entity_view`` + the template (the page without HTTP, session or audit);
- page: ``GET /ui/entities/{id}`` through the app (session check, audit row committed to SQLite,
  render), in process over ASGI, on a dataset source that was not prepared (the feature path);
- then the same from memory, on a source prepared at start-up as ``flowrisk serve`` does
  (``DatasetSource.prepare``: profiles and red flags built in the batch path, the transactions'
  index): the lookup (``DatasetSource.score``), the view (``page_frames`` + ``entity_view``),
  the page, and ``GET /v1/entities/{id}/score`` over ASGI. The start-up cost and the memory the
  prepared lookups hold (per 100,000 entities) are printed too.

    python benchmarks/bench_console.py --entities 3000 --renders 200
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import machine_line

TXNS = 1_000


def _entity_near(frames: dict[str, Any], as_of: datetime, target: int) -> tuple[str, int]:
    """The entity whose transactions of the year before ``as_of`` number closest to ``target``."""
    import polars as pl

    tx = frames["transactions"].filter(
        (pl.col("ts") < as_of) & (pl.col("ts") >= as_of - timedelta(days=365))
    )
    held = frames["accounts"].filter(pl.col("entity_id").is_not_null())
    sides = [
        tx.join(held, left_on=col, right_on="account_id").select("entity_id", "txn_id")
        for col in ("src_account_id", "dst_account_id")
    ]
    counts = pl.concat(sides).unique().group_by("entity_id").len().collect()
    best = counts.with_columns((pl.col("len").cast(pl.Int64) - target).abs().alias("gap"))
    row = best.sort("gap", "entity_id").row(0, named=True)
    return str(row["entity_id"]), int(row["len"])


def _times(fn: Callable[[], Any], renders: int, warm: int = 10) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds (all threads of the process) of each of ``renders`` calls: on
    a shared machine the CPU time says what a render costs, the wall time what it waited."""
    for _ in range(warm):
        fn()
    gc.collect()
    gc.freeze()
    wall, cpu = [], []
    for _ in range(renders):
        started, used = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    gc.unfreeze()
    return wall, cpu


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _prepare(entities: int, seed: int) -> tuple[Any, Any, Path, str, int]:
    """A generated world, a model trained on it, and its entity nearest 1,000 transactions."""
    import polars as pl

    from flowrisk.features import fit_baselines
    from flowrisk.io import read_dataset
    from flowrisk.models import fit_model, snapshots, split_snapshots
    from flowrisk.models.registry import Bundle
    from flowrisk.models.scoring import DatasetSource, Loaded
    from flowrisk.synth import WorldParams, generate_world

    work = Path(tempfile.mkdtemp(prefix="bench_console_"))
    world = work / "world"
    generate_world(WorldParams(entities=entities, seed=seed), world)
    frames = {k: v.collect().lazy() for k, v in read_dataset(world).items()}
    source = DatasetSource(world)
    dates = [datetime(2025, m, 1, tzinfo=UTC) for m in (8, 10, 12)]  # the session worlds' dates
    baselines = fit_baselines(frames, dates[0])
    labels = pl.read_parquet(world / "labels.parquet")
    model, _ = fit_model(split_snapshots(snapshots(frames, labels, dates, baselines), seed=1))
    bundle = Bundle(model=model, baselines=baselines, uri="models:/flowrisk@champion", version="1")
    loaded = Loaded(bundle=bundle, loaded_at=datetime.now(UTC), metrics={})
    entity, count = _entity_near(frames, source.as_of, TXNS)
    return source, loaded, work, entity, count


Rows = list[tuple[str, tuple[list[float], list[float]]]]


def _signed_in(store: Any, holder: Any, source: Any, key: str) -> Any:
    """A client of an app over ``source``, signed in with ``key`` and a case reference set."""
    from fastapi.testclient import TestClient

    from flowrisk.api import ApiConfig, create_app

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from tests.unit.api.console.conftest import set_purpose, sign_in

    app = create_app(ApiConfig(store=store, holder=holder, dataset=source))
    client = TestClient(app, base_url="https://testserver")
    assert sign_in(client, key).status_code == 303 and set_purpose(client).status_code == 303
    return client


def _render(context: dict[str, Any]) -> str:
    from flowrisk.api.console.pages import templates

    template = templates.get_template("entity.html")
    return template.render(context, user=None, locale="en", path="/ui", t=lambda k, **v: k)


def _feature_path(source: Any, loaded: Any, entity: str, client: Any, renders: int) -> Rows:
    """The lookup, the view and the page through the feature path (the earlier rows)."""
    from flowrisk.api.console.entity_view import entity_view
    from flowrisk.models.scoring import score_frames

    as_of = source.as_of

    def baseline() -> None:
        score_frames(source.frames_for(entity), entity, as_of, loaded, True)

    def view() -> None:
        _render(entity_view(source.frames_for(entity), entity, as_of, loaded, history=[]))

    def page() -> None:
        reply = client.get(f"/ui/entities/{entity}")
        assert reply.status_code == 200, reply.text[:300]

    return [
        ("baseline: frames_for + score_frames", _times(baseline, renders)),
        ("view: frames_for + entity_view + template", _times(view, renders)),
        ("page: GET /ui/entities/{id} (supervisor)", _times(page, renders)),
    ]


def _from_memory(ready: Any, loaded: Any, entity: str, client: Any, key: str, renders: int) -> Rows:
    """The same from a prepared source, and the API's lookup over ASGI."""
    from flowrisk.api.console.entity_view import entity_view, page_frames

    def lookup() -> None:
        ready.score(entity, loaded, True)

    def view() -> None:
        explained = ready.score(entity, loaded, True)
        frames = page_frames(ready, entity)
        _render(entity_view(frames, entity, ready.as_of, loaded, explained=explained, history=[]))

    def page() -> None:
        reply = client.get(f"/ui/entities/{entity}")
        assert reply.status_code == 200, reply.text[:300]

    headers = {"X-API-Key": key, "X-Purpose": "case 2026-001"}

    def api() -> None:
        reply = client.get(f"/v1/entities/{entity}/score", headers=headers)
        assert reply.status_code == 200, reply.text[:300]

    return [
        ("from memory: DatasetSource.score", _times(lookup, renders)),
        ("from memory: page_frames + entity_view + template", _times(view, renders)),
        ("from memory: GET /ui/entities/{id} (supervisor)", _times(page, renders)),
        ("from memory: GET /v1/entities/{id}/score", _times(api, renders)),
    ]


def main(entities: int, renders: int, seed: int) -> None:
    import polars as pl

    from flowrisk.api.service import ModelHolder
    from flowrisk.audit import Store
    from flowrisk.models.scoring import DatasetSource

    source, loaded, work, entity, count = _prepare(entities, seed)
    bundle = loaded.bundle
    ready = DatasetSource(source.folder, source.as_of)
    started, used = time.perf_counter(), time.process_time()
    ready.prepare(loaded)
    took = (time.perf_counter() - started, time.process_time() - used)
    assert ready.prepared is not None and ready.index is not None
    held = ready.prepared.nbytes() + ready.index.nbytes()
    store = Store(f"sqlite:///{work / 'audit.db'}")
    holder = ModelHolder(bundle.uri, lambda uri: (bundle, {}), lambda _: None)
    key = store.create_key("supervisor", "bench")[1]

    print(machine_line(polars=pl.__version__))
    print(f"world {entities:,} entities (seed {seed}); entity {entity}: {count:,} transactions "
          f"in the year before {source.as_of.date()}; {renders} renders each")  # fmt: skip
    print(f"prepared at start-up in {took[0]:.1f} s wall, {took[1]:.1f} s CPU; holds "
          f"{held / 2**20:.1f} MiB, {held / 2**20 * 100_000 / entities:,.0f} MiB "
          "per 100,000 entities")  # fmt: skip
    rows = _feature_path(source, loaded, entity, _signed_in(store, holder, source, key), renders)
    fast = _signed_in(store, holder, ready, key)
    rows += _from_memory(ready, loaded, entity, fast, key, renders)
    base = statistics.median(rows[0][1][0])
    print("| timing | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | p50 vs baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (wall, cpu) in rows:
        p50 = statistics.median(wall)
        print(
            f"| {name} | {p50:.1f} | {_p(wall, 99):.1f} | {statistics.median(cpu):.1f} "
            f"| {_p(cpu, 99):.1f} | {p50 / base:.2f} |"
        )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=3_000)
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    main(args.entities, args.renders, args.seed)
