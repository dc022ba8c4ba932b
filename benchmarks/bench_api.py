"""API speed as users feel it, over HTTP against real ``flowrisk serve`` processes: ingested
lookups (``GET /v1/entities/{id}/score``) and payload scores (``POST /v1/scores``, one entity
with 1,000 transactions), sequential and at 16 concurrent keep-alive connections, with the
memory each worker holds for the served dataset; PASS/FAIL against each target of issue 19.

Ratios are taken against baselines run in the same process and the same minutes: the same
scoring called in process (validation, frames, features, score; no HTTP, no JSON, no audit),
and a bare FastAPI echo endpoint on uvicorn with the same protocol and workers (reads the same
body, answers ``{}``).

World preparation (once; ``--home`` keeps what it prepares for the next run):

    flowrisk synth --entities 100000 --seed 42 --out /tmp/w100k    # ~10+ min on 2 cores
    python benchmarks/bench_api.py --world /tmp/w100k --home /tmp/bench-api-home

A missing ``--world`` folder is generated with ``--entities`` and seed 42 (that command). The
model is trained on a 20,000-entity world (seed 3) under ``--home`` and registered there as
champion; an analyst key is made with the audit store under ``--home``. Every request writes
its audit row (SQLite, WAL, synchronous=FULL), as served.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import machine_line

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
TXNS = 1_000
PROTOCOL = "flowrisk.api.limits:CappedH11Protocol"
TARGETS = {  # name: (metric, bound, "max" = at most / "min" = at least)
    "lookup bare p99 ms": (10.0, "max"),
    "lookup explained p99 ms": (20.0, "max"),
    "payload explained p99 ms": (25.0, "max"),
    "payload bare requests/s (2 workers, 16 conns)": (300.0, "min"),
    "payload explained requests/s (2 workers, 16 conns)": (150.0, "min"),
    "errors over the concurrent runs": (0.0, "max"),
}


# --- preparation (cached under --home) ---------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "FLOWRISK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    for name in ("FLOWRISK_MLFLOW_URI", "FLOWRISK_DATABASE_URL"):
        env.pop(name, None)
    return env


def _flowrisk(home: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flowrisk", *args], env=_env(home), capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"flowrisk {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def prepare(home: Path, world: Path, entities: int) -> dict[str, Any]:
    """The served world, a registered champion, an analyst key and the payload: made once,
    then read from ``home/prepared.json``."""
    marker = home / "prepared.json"
    if not world.is_dir():
        print(f"generating {world} ({entities:,} entities, seed 42)...", flush=True)
        _flowrisk(home, "synth", "--entities", str(entities), "--seed", "42", "--out", str(world))
    if marker.is_file():
        return dict(json.loads(marker.read_text()))
    home.mkdir(parents=True, exist_ok=True)
    print(f"training the model and making the payload under {home}...", flush=True)
    payload = _train_and_register(home)
    (home / "payload.json").write_text(json.dumps(payload))
    key = _flowrisk(home, "keys", "create", "--role", "analyst").strip().splitlines()[-1]
    facts = {"key": key, "payload": str(home / "payload.json")}
    marker.write_text(json.dumps(facts))
    return facts


def _train_and_register(home: Path) -> dict[str, Any]:
    """A model trained on a 20,000-entity world (seed 3), champion in ``home``'s registry
    (kept when one is there); returns a payload of one of that world's companies padded to
    exactly 1,000 transactions."""
    import mlflow
    import polars as pl

    from flowrisk.features import fit_baselines
    from flowrisk.io import read_dataset
    from flowrisk.models import fit_model, snapshots, split_snapshots
    from flowrisk.models.registry import Registry
    from flowrisk.synth import WorldParams, generate_world

    folder = home / "train-world"
    if not (folder / "labels.parquet").is_file():
        generate_world(WorldParams(entities=20_000, seed=3), folder)
    frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
    registry = Registry(f"sqlite:///{home / 'mlflow.db'}", home / "mlartifacts")
    if not registry.has_champion():
        dates = [datetime(2025, m, 1, tzinfo=UTC) for m in (7, 9, 11)] + [AS_OF]
        baselines = fit_baselines(frames, dates[0])
        labels = pl.read_parquet(folder / "labels.parquet")
        split = split_snapshots(snapshots(frames, labels, dates, baselines))
        model, _ = fit_model(split)
        with registry.start_run("flowrisk"):
            mlflow.log_metric("flowrisk.pr_auc", 0.0)
            registry.log_model(model, baselines, split.test.to_pandas())
        registry.set_alias("1")
    return _padded_payload(frames)


def _padded_payload(frames: dict[str, Any]) -> dict[str, Any]:
    import polars as pl

    sys.path.insert(0, str(ROOT))
    from flowrisk.api.schemas.fields import MAX_ACCOUNTS
    from tests.unit.api.payloads import payload_for

    owners = frames["accounts"].filter(pl.col("entity_id").is_not_null())
    counts = (
        frames["transactions"]
        .join(owners, left_on="dst_account_id", right_on="account_id")
        .group_by("entity_id")
        .len()
        .sort("len", "entity_id", descending=[True, False])
        .collect()
    )
    for entity in counts.filter(pl.col("len") <= TXNS)["entity_id"]:  # the busiest that fits
        payload = payload_for(frames, entity, AS_OF)
        if len(payload["accounts"]) <= MAX_ACCOUNTS:
            break
    own = payload["transactions"]
    padded = []
    for i in range(TXNS):
        base = dict(own[i % len(own)])
        ts = datetime.fromisoformat(base["ts"]) - timedelta(minutes=7 * (i // len(own)))
        padded.append({**base, "txn_id": 10**12 + i, "ts": ts.isoformat()})
    payload["transactions"] = padded
    return payload


def lookup_ids(world: Path, n: int = 500) -> list[str]:
    """``n`` entities of the served world (seeded draw): lookups cycle through them."""
    import polars as pl

    ids = pl.read_parquet(world / "entities.parquet", columns=["entity_id"])["entity_id"]
    return random.Random(7).sample(ids.to_list(), min(n, len(ids)))


# --- servers -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process (group) on loopback: its port, log and root process."""

    port: int
    log: Path
    proc: subprocess.Popen[bytes]
    workers: int

    def worker_pids(self) -> list[int]:
        """The processes that answer (uvicorn's children with several workers)."""
        import psutil

        root = psutil.Process(self.proc.pid)
        if self.workers == 1:
            return [root.pid]
        kids = [p for p in root.children(recursive=True) if "multiprocessing" not in _cmd(p)]
        return [p.pid for p in kids] or [root.pid]

    def rss_mib(self) -> list[float]:
        import psutil

        return [psutil.Process(p).memory_info().rss / 2**20 for p in self.worker_pids()]


def _cmd(proc: Any) -> str:
    try:
        return " ".join(proc.cmdline())
    except Exception:
        return ""


@contextmanager
def serving(command: list[str], env: dict[str, str], log: Path, workers: int,
            ready: str, prepared: int = 0) -> Iterator[Server]:  # fmt: skip
    """Run ``command`` (with ``{port}`` filled in) until ``ready`` answers 200 and the log
    names ``prepared`` finished lookup preparations; stop its process group afterwards."""
    port = _free_port()
    args = [a.replace("{port}", str(port)) for a in command]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip
    try:
        _wait(proc, f"http://127.0.0.1:{port}{ready}", log, prepared)
        yield Server(port, log, proc, workers)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _wait(proc: subprocess.Popen[bytes], url: str, log: Path, prepared: int) -> None:
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}): {log.read_text()[-3000:]}")
        text = log.read_text(errors="replace")
        if text.count("lookups of") >= prepared and _answers(url):
            return
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready within an hour: {log.read_text()[-3000:]}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def flowrisk_serve(home: Path, workers: int, dataset: Path | None) -> Any:
    command = [sys.executable, "-m", "flowrisk", "serve", "--port", "{port}",
               "--workers", str(workers), "--log-level", "info"]  # fmt: skip
    if dataset is not None:
        command += ["--dataset", str(dataset)]
    logs = home / f"serve-{workers}w-{'dataset' if dataset else 'bare'}.log"
    return serving(command, _env(home), logs, workers, "/readyz", workers if dataset else 0)


def echo_serve(home: Path, workers: int) -> Any:
    """The HTTP floor: FastAPI on uvicorn, same protocol and workers, reading the body."""
    command = [sys.executable, "-m", "uvicorn", "_echo:app", "--app-dir", str(HERE),
               "--port", "{port}", "--workers", str(workers), "--http", PROTOCOL,
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
    return serving(command, _env(home), home / "echo.log", workers, "/healthz")


# --- load ------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    paths: list[str]  # cycled through
    body: bytes | None
    headers: dict[str, str]


@dataclass
class Run:
    times: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    first_error: str = ""

    def summary(self) -> dict[str, float]:
        q = statistics.quantiles(self.times, n=100, method="inclusive")
        return {"p50": q[49] * 1e3, "p95": q[94] * 1e3, "p99": q[98] * 1e3,
                "rps": len(self.times) / self.wall if self.wall else 0.0,
                "errors": float(self.errors), "n": float(len(self.times))}  # fmt: skip


def _client(port: int, req: Request, todo: Iterator[int], run: Run, lock: threading.Lock,
            warm: int) -> None:  # fmt: skip
    """One keep-alive connection sending requests until ``todo`` runs out."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in todo:
        path = req.paths[i % len(req.paths)]
        started = time.perf_counter()
        try:
            conn.request(req.method, path, body=req.body, headers=req.headers)
            reply = conn.getresponse()
            data = reply.read()
            ok = reply.status == 200
        except OSError as exc:
            ok, data = False, repr(exc).encode()
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        elapsed = time.perf_counter() - started
        with lock:
            if not ok:
                run.errors += 1
                run.first_error = run.first_error or data[:300].decode(errors="replace")
            elif i >= warm:
                run.times.append(elapsed)
    conn.close()


def load(port: int, req: Request, n: int, connections: int, warm: int = 30) -> Run:
    """``n`` requests (after ``warm`` unmeasured ones) over ``connections`` keep-alive
    connections, each sending its next request once its reply is read."""
    counter = iter(range(n + warm))
    lock = threading.Lock()

    def todo() -> Iterator[int]:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            yield i

    run = Run()
    if warm:  # warm-up on one connection first, unmeasured
        _client(port, req, iter(range(warm)), Run(), lock, warm)
        counter = iter(range(warm, n + warm))
    threads = [threading.Thread(target=_client, args=(port, req, todo(), run, lock, warm))
               for _ in range(connections)]  # fmt: skip
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.wall = time.perf_counter() - started
    return run


def in_process(home: Path, payload: dict[str, Any], n: int, explain: bool) -> dict[str, float]:
    """The floor: validation, frames, features and scoring in this process (no HTTP, JSON or
    audit), sequential, GC frozen after warm-up, with the model ``flowrisk serve`` loads."""
    import gc

    from flowrisk.api.schemas import ScoreRequest
    from flowrisk.api.service import payload_frames
    from flowrisk.models.registry import Registry
    from flowrisk.models.scoring import Loaded, score_frames

    bundle = Registry(f"sqlite:///{home / 'mlflow.db'}", home / "mlartifacts").load_bundle()
    loaded = Loaded(bundle, datetime.now(UTC), {})
    raw = json.dumps(payload).encode()
    run = Run()
    for i in range(n + 30):
        if i == 30:
            gc.collect()
            gc.freeze()
        started = time.perf_counter()
        request = ScoreRequest.model_validate_json(raw)
        score_frames(payload_frames(request), request.entity.entity_id, request.as_of, loaded,
                     explain)  # fmt: skip
        if i >= 30:
            run.times.append(time.perf_counter() - started)
    run.wall = sum(run.times)
    return run.summary()


# --- report ----------------------------------------------------------------------------------


def _row(name: str, m: dict[str, float], base: dict[str, float] | None, key: str) -> None:
    ratio = f"{m[key] / base[key]:.2f}" if base and base[key] else "1.00"
    print(f"| {name} | {m['n']:.0f} | {m['errors']:.0f} | {m['rps']:.0f} | {m['p50']:.1f} | "
          f"{m['p95']:.1f} | {m['p99']:.1f} | {ratio} |", flush=True)  # fmt: skip


def _header(title: str, ratio: str) -> None:
    print(f"\n{title}\n")
    print(f"| run | requests | errors | requests/s | p50 ms | p95 ms | p99 ms | {ratio} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")


def verdicts(figures: dict[str, float]) -> bool:
    print("\n| target | bound | measured | verdict |\n|---|---:|---:|---|")
    passed = True
    for name, (bound, kind) in TARGETS.items():
        value = figures.get(name, float("nan"))
        ok = value <= bound if kind == "max" else value >= bound
        passed &= ok
        sign = "<=" if kind == "max" else ">="
        print(f"| {name} | {sign} {bound:g} | {value:.1f} | {'PASS' if ok else 'FAIL'} |")
    return passed


def _headers(key: str) -> dict[str, str]:
    return {"content-type": "application/json", "X-API-Key": key, "X-Purpose": "bench-api-19"}


def sequential_part(args: argparse.Namespace, facts: dict[str, Any], figures: dict[str, float],
                    memory: dict[str, float]) -> None:  # fmt: skip
    """Lookups and payload scores one at a time, against one worker serving the dataset."""
    payload = Path(facts["payload"]).read_bytes()
    ids = lookup_ids(args.world)
    floor = {e: in_process(args.home, json.loads(payload), args.requests, e) for e in (False, True)}
    with flowrisk_serve(args.home, 1, None) as bare:  # the same worker, warmed, no dataset
        warm = Request("POST", ["/v1/scores?explain=true"], payload, _headers(facts["key"]))
        load(bare.port, warm, 100, 1)
        memory["worker without dataset"] = bare.rss_mib()[0]
    with flowrisk_serve(args.home, 1, args.world) as server:
        memory["worker serving the dataset"] = server.rss_mib()[0]
        _header(f"sequential, one connection, `flowrisk serve --workers 1 --dataset "
                f"{args.world.name}`", "p50 vs in process")  # fmt: skip
        for explain in (False, True):
            flag = "true" if explain else "false"
            paths = [f"/v1/entities/{e}/score?explain={flag}" for e in ids]
            look = load(server.port, Request("GET", paths, None, _headers(facts["key"])),
                        args.requests, 1).summary()  # fmt: skip
            req = Request("POST", [f"/v1/scores?explain={flag}"], payload, _headers(facts["key"]))
            post = load(server.port, req, args.requests, 1).summary()
            word = "explained" if explain else "bare"
            _row(f"in process floor, payload, {word}", floor[explain], None, "p50")
            _row(f"HTTP payload, {word}", post, floor[explain], "p50")
            _row(f"HTTP lookup, {word}", look, floor[explain], "p50")
            figures[f"lookup {word} p99 ms"] = look["p99"]
            figures[f"payload {word} p99 ms"] = post["p99"]


def concurrent_part(args: argparse.Namespace, facts: dict[str, Any], figures: dict[str, float],
                    ) -> None:  # fmt: skip
    """Payload scores at ``--connections`` against ``--workers`` workers, against the echo."""
    payload = Path(facts["payload"]).read_bytes()
    n, conns = args.concurrent_requests, args.connections
    with echo_serve(args.home, args.workers) as echo:
        floor = load(echo.port, Request("POST", ["/echo"], payload, _headers("x")), n,
                     conns).summary()  # fmt: skip
    title = (f"{conns} concurrent keep-alive connections, `flowrisk serve --workers "
             f"{args.workers}` (no dataset), POST /v1/scores with {TXNS:,} transactions")
    _header(title, "requests/s vs echo")
    _row("FastAPI echo, same protocol and workers (floor)", floor, None, "rps")
    errors = 0.0
    with flowrisk_serve(args.home, args.workers, None) as server:
        for explain in (False, True):
            flag = "true" if explain else "false"
            req = Request("POST", [f"/v1/scores?explain={flag}"], payload, _headers(facts["key"]))
            before = _audit_rows(args.home)
            run = load(server.port, req, n, conns)
            added = _audit_rows(args.home) - before
            m = run.summary()
            print(f"audit rows added: {added:,} for {n + 30:,} requests sent (one each)")
            errors += abs(added - (n + 30))  # a request without its one audit row is an error
            word = "explained" if explain else "bare"
            _row(f"HTTP payload, {word}", m, floor, "rps")
            if run.first_error:
                print(f"first error: {run.first_error}")
            figures[f"payload {word} requests/s ({args.workers} workers, {conns} conns)"] = m["rps"]
            errors += m["errors"]
    figures["errors over the concurrent runs"] = errors


def _audit_rows(home: Path) -> int:
    """Rows of the audit trail the servers under ``home`` write."""
    import sqlite3

    with sqlite3.connect(f"file:{home / 'audit.db'}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def _world_size(world: Path) -> tuple[int, int]:
    import polars as pl

    entities = pl.scan_parquet(world / "entities.parquet").select(pl.len()).collect().item()
    txns = pl.scan_parquet(world / "transactions.parquet").select(pl.len()).collect().item()
    return int(entities), int(txns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=Path, default=Path("/tmp/w100k"),
                        help="dataset served for lookups (generated when missing)")
    parser.add_argument("--entities", type=int, default=100_000,
                        help="entities of a generated --world")
    parser.add_argument("--home", type=Path, default=Path("/tmp/bench-api-home"),
                        help="FLOWRISK_HOME of the servers; keeps model, key and payload")
    parser.add_argument("--requests", type=int, default=1000, help="per sequential row")
    parser.add_argument("--concurrent-requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=("sequential", "concurrent"), default=None)
    args = parser.parse_args()  # fmt: skip
    args.home, args.world = args.home.resolve(), args.world.resolve()
    import fastapi
    import polars

    facts = prepare(args.home, args.world, args.entities)
    entities, txns = _world_size(args.world)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"{machine_line(polars=polars.__version__, fastapi=fastapi.__version__)}")
    print(f"load average at start: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"served world {args.world}: {entities:,} entities, {txns:,} transactions")
    figures: dict[str, float] = {}
    memory: dict[str, float] = {}
    started = time.process_time()
    if args.only != "concurrent":
        sequential_part(args, facts, figures, memory)
    if args.only != "sequential":
        concurrent_part(args, facts, figures)
    print(f"\nload generator CPU: {time.process_time() - started:.1f} s (this process)")
    if memory:
        extra = memory["worker serving the dataset"] - memory["worker without dataset"]
        print(f"memory: worker RSS {memory['worker without dataset']:.0f} MiB without the "
              f"dataset, {memory['worker serving the dataset']:.0f} MiB serving it: "
              f"{extra:.0f} MiB for {entities:,} entities, "
              f"{extra * 100_000 / entities:.0f} MiB per 100,000 entities (per worker)")
    print(f"load average at end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = verdicts(figures)
    print(f"\noverall: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
