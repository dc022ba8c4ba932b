"""API latency benchmark: a bounded load run on loopback against the scoring service (uvicorn,
one worker, in its own process) for one entity with 1,000 transactions, with and without
explanations, reporting throughput and p50/p95/p99 latency; the same scoring called in process
(no HTTP, no JSON) is the baseline the ratios are taken against.

    python benchmarks/bench_api.py --requests 1000
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import pickle
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import machine_line

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
TXNS = 1_000


def prepare(folder: Path) -> tuple[bytes, dict[str, Any]]:
    """A model trained on a 20,000-entity world, and a payload of one of its companies padded
    to exactly 1,000 transactions (copies of its own, shifted in time)."""
    import polars as pl

    from flowrisk.features import fit_baselines
    from flowrisk.io import read_dataset
    from flowrisk.models import fit_model, snapshots, split_snapshots
    from flowrisk.synth import WorldParams, generate_world

    generate_world(WorldParams(entities=20_000, seed=3), folder)
    frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
    dates = [datetime(2025, m, 1, tzinfo=UTC) for m in (7, 9, 11)] + [AS_OF]
    baselines = fit_baselines(frames, dates[0])
    labels = pl.read_parquet(folder / "labels.parquet")
    model, _ = fit_model(split_snapshots(snapshots(frames, labels, dates, baselines)))
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from tests.unit.api.payloads import payload_for

    owners = frames["accounts"].filter(pl.col("entity_id").is_not_null())
    counts = (
        frames["transactions"]
        .join(owners, left_on="dst_account_id", right_on="account_id")
        .group_by("entity_id")
        .len()
        .sort("len", descending=True)
        .collect()
    )
    entity = counts.filter(pl.col("len") <= TXNS)["entity_id"][0]
    payload = payload_for(frames, entity, AS_OF)
    own = payload["transactions"]
    padded = []
    for i in range(TXNS):
        base = dict(own[i % len(own)])
        ts = datetime.fromisoformat(base["ts"]) - timedelta(minutes=7 * (i // len(own)))
        padded.append({**base, "txn_id": 10**12 + i, "ts": ts.isoformat()})
    payload["transactions"] = padded
    return pickle.dumps((model, baselines)), payload


def serve(bundle: bytes, port: int, db: str) -> None:
    import uvicorn

    from flowrisk.api import ApiConfig, create_app
    from flowrisk.api.service import ModelHolder
    from flowrisk.audit import Store
    from flowrisk.models.registry import Bundle

    model, baselines = pickle.loads(bundle)
    loaded = Bundle(model=model, baselines=baselines, uri="models:/flowrisk/1", version="1")
    store = Store(db)
    app = create_app(ApiConfig(store=store, holder=ModelHolder(loaded.uri, lambda u: (loaded, {}))))
    # the server as ``flowrisk serve`` runs it: h11 with the head cap that answers 431
    from flowrisk.api.limits import server_header_cap
    from flowrisk.cli.service import PROTOCOL

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        http=PROTOCOL,
        h11_max_incomplete_event_size=server_header_cap(ApiConfig.max_header_bytes),
        log_level="error",
        access_log=False,
    )


def load(port: int, key: str, payload: dict[str, Any], n: int, explain: bool) -> dict[str, float]:
    """``n`` sequential requests on one keep-alive connection (after 30 warm-up ones)."""
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json", "X-API-Key": key, "X-Purpose": "bench"}
    path = f"/v1/scores?explain={'true' if explain else 'false'}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for i in range(n + 30):
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        reply = conn.getresponse()
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"status {reply.status}")
        if i >= 30:
            times.append(time.perf_counter() - started)
    conn.close()
    return _summary(times)


def _summary(times: list[float]) -> dict[str, float]:
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50": q[49] * 1e3, "p95": q[94] * 1e3, "p99": q[98] * 1e3,
            "rps": len(times) / sum(times)}


def in_process(bundle: bytes, payload: dict[str, Any], n: int, explain: bool) -> dict[str, float]:
    """The baseline: validation, frames, features and scoring, without HTTP and JSON."""
    import gc

    from flowrisk.api.schemas import ScoreRequest
    from flowrisk.api.service import payload_frames
    from flowrisk.models.registry import Bundle
    from flowrisk.models.scoring import Loaded, score_frames

    model, baselines = pickle.loads(bundle)
    loaded = Loaded(Bundle(model, baselines, "models:/flowrisk/1", "1"), datetime.now(UTC), {})
    gc.freeze()
    times = []
    for i in range(n + 30):
        started = time.perf_counter()
        request = ScoreRequest.model_validate(payload)
        score_frames(payload_frames(request), request.entity.entity_id, request.as_of, loaded,
                     explain)
        if i >= 30:
            times.append(time.perf_counter() - started)
    return _summary(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    import fastapi
    import polars

    print(f"{datetime.now(UTC).date()}; "
          f"{machine_line(polars=polars.__version__, fastapi=fastapi.__version__)}")
    with tempfile.TemporaryDirectory() as tmp:
        bundle, payload = prepare(Path(tmp) / "world")
        from flowrisk.audit import Store

        db = f"sqlite:///{Path(tmp) / 'audit.db'}"
        _, key = Store(db).create_key("analyst")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = mp.get_context("spawn").Process(target=serve, args=(bundle, port, db))
        server.start()
        try:
            for _ in range(600):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            print(f"\none entity, {len(payload['transactions']):,} transactions, "
                  f"{len(payload['accounts'])} accounts; {args.requests} sequential requests "
                  "per row on one keep-alive connection, after 30 warm-up requests\n")
            print("| path | explanations | requests/s | p50 ms | p95 ms | p99 ms "
                  "| p50 vs in process |")
            print("|---|---|---:|---:|---:|---:|---:|")
            for explain in (False, True):
                base = in_process(bundle, payload, args.requests, explain)
                http_ = load(port, key, payload, args.requests, explain)
                for name, m in (("in process (baseline)", base), ("HTTP, uvicorn", http_)):
                    print(f"| {name} | {'yes' if explain else 'no'} | {m['rps']:.0f} | "
                          f"{m['p50']:.1f} | {m['p95']:.1f} | {m['p99']:.1f} | "
                          f"{m['p50'] / base['p50']:.2f} |", flush=True)
        finally:
            server.terminate()
            server.join(10)


if __name__ == "__main__":
    main()
