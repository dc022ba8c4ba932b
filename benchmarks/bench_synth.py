"""Generation benchmark: how fast flowrisk writes a realistic world, against a floor.

For each size, a fresh child process generates a world with ``flowrisk.synth.generate_world``
and reports its wall time and peak memory (ru_maxrss); the same process then has DuckDB write
the same number of transaction rows of plain random data (same columns, zstd Parquet). The ratio
flowrisk / DuckDB says what realism costs over the cost of merely writing that many rows, and
stays comparable on a noisy shared machine where absolute seconds do not.

    python benchmarks/bench_synth.py --entities 100000 1000000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import machine_line


def _duckdb_floor(rows: int, accounts: int, out: Path) -> float:
    """Seconds for DuckDB to write ``rows`` random transactions with the same columns."""
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(
        f"""
        COPY (
          SELECT i + 1 AS txn_id,
                 TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds((random() * 31536000)::BIGINT)
                   AS ts,
                 CASE WHEN random() < 0.1 THEN NULL
                      ELSE 'A' || lpad(((random() * {accounts})::BIGINT)::VARCHAR, 9, '0') END
                   AS src_account_id,
                 'A' || lpad(((random() * {accounts})::BIGINT)::VARCHAR, 9, '0')
                   AS dst_account_id,
                 round(exp(random() * 8), 2) AS amount,
                 (['cash', 'wire', 'instant', 'card'])[1 + (random() * 3.99)::INT] AS channel,
                 'EUR' AS currency_original,
                 CASE WHEN random() < 0.1
                      THEN 'BR' || lpad(((random() * 400)::INT)::VARCHAR, 4, '0')
                 END AS branch_id
          FROM range({rows}) t(i)
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
        """
    )
    return time.perf_counter() - started


def _measure(entities: int, workdir: str, queue: Any) -> None:
    """Child process: generate, then run the floor, and report. (Not the shared
    ``in_fresh_process``: the peak memory must be read before the floor runs.)"""
    from flowrisk.synth import WorldParams, generate_world

    out = Path(workdir) / f"world_{entities}"
    started = time.perf_counter()
    manifest = generate_world(WorldParams(entities=entities, seed=42), out)
    seconds = time.perf_counter() - started
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rows = manifest["rows"]["transactions"]
    size_gib = sum(p.stat().st_size for p in out.iterdir()) / 1024**3
    shutil.rmtree(out)
    floor = _duckdb_floor(rows, manifest["rows"]["accounts"], Path(workdir) / "floor.parquet")
    os.remove(Path(workdir) / "floor.parquet")
    queue.put({"entities": entities, "transactions": rows, "seconds": seconds,
               "peak_gib": peak_gib, "size_gib": size_gib, "floor": floor})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, nargs="+", default=[100_000])
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    import duckdb
    import polars

    print(machine_line(polars=polars.__version__, duckdb=duckdb.__version__))
    print("| entities | transactions | seconds | entities/s | transactions/s | peak RSS GiB "
          "| files GiB | DuckDB floor s | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        for n in args.entities:
            queue = ctx.Queue()
            child = ctx.Process(target=_measure, args=(n, workdir, queue))
            child.start()
            r = queue.get()
            child.join()
            print(f"| {r['entities']:,} | {r['transactions']:,} | {r['seconds']:.1f} | "
                  f"{r['entities'] / r['seconds']:,.0f} | {r['transactions'] / r['seconds']:,.0f} "
                  f"| {r['peak_gib']:.2f} | {r['size_gib']:.2f} | {r['floor']:.1f} | "
                  f"{r['seconds'] / r['floor']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
