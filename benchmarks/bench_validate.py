"""Validation benchmark: the Great Expectations suites against the same rules in plain Polars.

A world of about 10 million transactions is generated once; then, each in a fresh process (so
that peak memory is its own), `validate_dataset` runs with ``engine="gx"`` (row rules through
Great Expectations on pandas chunks) and with ``engine="polars"`` (the same rules as Polars
expressions). Both also run the dataset rules (keys, references) in Polars and write the
accepted and quarantine datasets. The ratio gx / polars is the cost of running the contract
through Great Expectations.

    python benchmarks/bench_validate.py --entities 82000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import in_fresh_process, machine_line

from flowrisk.data_contracts import Engine


def _validate(folder: str, engine: Engine, chunk_rows: int) -> dict[str, int]:
    from flowrisk.data_contracts import validate_dataset

    with tempfile.TemporaryDirectory() as out:
        report = validate_dataset(folder, engine=engine, quarantine=out, chunk_rows=chunk_rows)
    return {"rows": sum(t.rows_in for t in report.tables.values()),
            "transactions": report.tables["transactions"].rows_in,
            "rejected": report.rows_quarantined}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=82_000,
                        help="world size (82,000 entities give about 10 million transactions)")
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    import great_expectations
    import polars

    from flowrisk.synth import WorldParams, generate_world

    print(machine_line(polars=polars.__version__,
                       **{"great-expectations": great_expectations.__version__}))
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        world = Path(workdir) / "world"
        manifest = generate_world(WorldParams(entities=args.entities, seed=42), world)
        print(f"world: {args.entities:,} entities, {manifest['rows']['transactions']:,} "
              f"transactions, {sum(manifest['rows'].values()):,} rows in all tables")
        results = {}
        for engine in ("gx", "polars"):
            out = in_fresh_process(_validate, str(world), engine, args.chunk_rows)
            results[engine] = {"engine": engine, **out, **out["result"]}
    print("| engine | seconds | rows/s (all tables) | transactions/s | peak RSS GiB | "
          "rejected |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results.values():
        print(f"| {r['engine']} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | "
              f"{r['transactions'] / r['seconds']:,.0f} | {r['peak_gib']:.2f} | "
              f"{r['rejected']} |")
    ratio = results["gx"]["seconds"] / results["polars"]["seconds"]
    print(f"ratio gx / polars: {ratio:.2f}")


if __name__ == "__main__":
    main()
