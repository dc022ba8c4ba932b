"""Feature benchmark: flowrisk's Polars profiles against the same core aggregates in DuckDB SQL
and in pandas, on the same generated world, each engine in a fresh process.

The *core aggregates* are the part every engine computes identically: transactions strictly
before ``as_of`` within a year, seen from each entity-held side (joined to accounts), then per
entity and for windows of 30, 90 and 365 days: cash deposited (sum, count), money in and out
from others, distinct payers and payees. Each engine reads the Parquet files itself. The full
``build_profiles`` (every family) is timed as well, and the same build with only the families
that predate the detection work (without amount, neighbourhood, timing and motif), and the same
build without motif: the ratios, in one run, are the cost of the behavioural families and of
the motif family.

    python benchmarks/bench_features.py --entities 82000            # about 10 M transactions
    python benchmarks/bench_features.py --entities 820000 --no-pandas  # about 100 M
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import in_fresh_process, machine_line

AS_OF = datetime(2025, 12, 1, tzinfo=UTC)
WINDOWS = (30, 90, 365)


def core_polars(folder: str) -> int:
    import polars as pl

    from flowrisk.features.context import make_context, window
    from flowrisk.io import read_dataset

    ctx = make_context(read_dataset(folder, tables=["entities", "accounts", "transactions"]),
                       AS_OF, {})
    amount = pl.col("amount")
    dep = pl.col("inbound") & (pl.col("channel") == "cash") & pl.col("cp_account").is_null()
    inflow = pl.col("inbound") & ~pl.col("is_self")
    outflow = ~pl.col("inbound") & ~pl.col("is_self")
    aggs = []
    for w in WINDOWS:
        aggs += [
            amount.filter(dep & window(w)).sum().alias(f"cash_sum_{w}"),
            (dep & window(w)).sum().alias(f"cash_n_{w}"),
            amount.filter(inflow & window(w)).sum().alias(f"in_{w}"),
            amount.filter(outflow & window(w)).sum().alias(f"out_{w}"),
            pl.col("cp_account").filter(inflow & window(w)).drop_nulls().n_unique().alias(
                f"payers_{w}"),
            pl.col("cp_account").filter(outflow & window(w)).drop_nulls().n_unique().alias(
                f"payees_{w}"),
        ]
    return ctx.legs.group_by("entity_id").agg(aggs).collect(engine="streaming").height


def core_duckdb(folder: str) -> int:
    import duckdb

    as_of = AS_OF.strftime("%Y-%m-%d %H:%M:%S+00")
    parts = []
    for w in WINDOWS:
        inw = f"age < {w}"
        parts += [
            f"sum(amount) FILTER (WHERE dep AND {inw}) AS cash_sum_{w}",
            f"count(*) FILTER (WHERE dep AND {inw}) AS cash_n_{w}",
            f"sum(amount) FILTER (WHERE inbound AND NOT self AND {inw}) AS in_{w}",
            f"sum(amount) FILTER (WHERE NOT inbound AND NOT self AND {inw}) AS out_{w}",
            f"count(DISTINCT cp) FILTER (WHERE inbound AND NOT self AND {inw}) AS payers_{w}",
            f"count(DISTINCT cp) FILTER (WHERE NOT inbound AND NOT self AND {inw}) "
            f"AS payees_{w}",
        ]
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    sql = f"""
    WITH tx AS (
      SELECT * FROM read_parquet('{folder}/transactions.parquet')
      WHERE ts < TIMESTAMPTZ '{as_of}' AND ts >= TIMESTAMPTZ '{as_of}' - INTERVAL 365 DAY),
    acc AS (SELECT account_id, entity_id FROM read_parquet('{folder}/accounts.parquet')),
    legs AS (
      SELECT a.entity_id, t.amount, t.channel, t.src_account_id AS cp, TRUE AS inbound, t.ts
        FROM tx t JOIN acc a ON t.dst_account_id = a.account_id
      UNION ALL
      SELECT a.entity_id, t.amount, t.channel, t.dst_account_id AS cp, FALSE AS inbound, t.ts
        FROM tx t JOIN acc a ON t.src_account_id = a.account_id),
    l2 AS (
      SELECT l.*, coalesce(c.entity_id = l.entity_id, FALSE) AS self,
             epoch(TIMESTAMPTZ '{as_of}' - l.ts) / 86400.0 AS age,
             (l.inbound AND l.channel = 'cash' AND l.cp IS NULL) AS dep
        FROM legs l LEFT JOIN acc c ON l.cp = c.account_id)
    SELECT entity_id, {", ".join(parts)} FROM l2 WHERE entity_id IS NOT NULL GROUP BY entity_id
    """
    return len(con.execute(sql).fetchall())


def core_pandas(folder: str) -> int:
    import numpy as np
    import pandas as pd

    tx = pd.read_parquet(f"{folder}/transactions.parquet")
    acc = pd.read_parquet(f"{folder}/accounts.parquet", columns=["account_id", "entity_id"])
    as_of = pd.Timestamp(AS_OF)
    tx = tx[(tx.ts < as_of) & (tx.ts >= as_of - pd.Timedelta(days=365))]
    owner = acc.set_index("account_id")["entity_id"]
    sides = []
    for own, other, inbound in (("dst_account_id", "src_account_id", True),
                                ("src_account_id", "dst_account_id", False)):
        s = pd.DataFrame({"entity_id": tx[own].map(owner), "amount": tx.amount.to_numpy(),
                          "channel": tx.channel.astype(str).to_numpy(),
                          "cp": tx[other].to_numpy(), "ts": tx.ts.to_numpy(),
                          "inbound": inbound})
        sides.append(s[s.entity_id.notna()])
    legs = pd.concat(sides, ignore_index=True)
    legs["self"] = (legs.cp.map(owner) == legs.entity_id).fillna(False)
    legs["age"] = (as_of - pd.to_datetime(legs.ts, utc=True)).dt.total_seconds() / 86400
    legs["dep"] = legs.inbound & (legs.channel == "cash") & legs.cp.isna()
    out = []
    for w in WINDOWS:
        inw = legs[legs.age < w]
        g_dep = inw[inw.dep].groupby("entity_id").amount
        ins = inw[inw.inbound & ~inw.self]
        outs = inw[~inw.inbound & ~inw.self]
        out.append(pd.DataFrame({
            f"cash_sum_{w}": g_dep.sum(), f"cash_n_{w}": g_dep.size(),
            f"in_{w}": ins.groupby("entity_id").amount.sum(),
            f"out_{w}": outs.groupby("entity_id").amount.sum(),
            f"payers_{w}": ins.groupby("entity_id").cp.nunique(),
            f"payees_{w}": outs.groupby("entity_id").cp.nunique(),
        }))
    result = pd.concat(out, axis=1)
    return int(np.asarray(result.index.nunique()))


BEHAVIOURAL = ("amount", "neighbourhood", "timing", "motif")  # the detection work's families


def _profiles_without(folder: str, dropped: tuple[str, ...]) -> int:
    """:func:`full_profiles` without the families ``dropped``: this fresh process takes them
    out of the feature path before building."""
    import flowrisk.features.build as build
    from flowrisk.features.families import FAMILIES

    kept = tuple(f for f in FAMILIES if not {x.family for x in f.FEATURES} & set(dropped))
    features = [feature for family in kept for feature in family.FEATURES]
    build.FAMILIES = kept
    build.catalog = lambda: features
    build.feature_names = lambda: [f.name for f in features]
    build._finishing.cache_clear()
    return full_profiles(folder)


def earlier_profiles(folder: str) -> int:
    """The build with only the families that predate the behavioural ones."""
    return _profiles_without(folder, BEHAVIOURAL)


def without_motif_profiles(folder: str) -> int:
    """The build with every family but ``motif``: the ratio to the full build is its cost."""
    return _profiles_without(folder, ("motif",))


def full_profiles(folder: str) -> int:
    """What `flowrisk features` does: fit baselines, build every partition's profiles."""
    from flowrisk.features import fit_baselines, iter_profile_partitions, partitions_for
    from flowrisk.io import read_dataset

    frames = read_dataset(folder)
    n = partitions_for(frames)
    baselines = fit_baselines(frames, AS_OF, n)
    parts = iter_profile_partitions(frames, AS_OF, baselines, n)
    return sum(p.height for p in parts)


ENGINES = {"flowrisk profiles (every family)": full_profiles,
           "flowrisk profiles (earlier families)": earlier_profiles,
           "flowrisk profiles (without motif)": without_motif_profiles, "polars core": core_polars,
           "duckdb core": core_duckdb, "pandas core": core_pandas}


def _measure(name: str, folder: str) -> dict[str, Any]:
    out = in_fresh_process(ENGINES[name], folder)
    return {"engine": name, "rows": out["result"] or 0, **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=82_000)
    parser.add_argument("--no-pandas", action="store_true", help="skip pandas (100 M rows "
                        "do not fit its memory)")
    parser.add_argument("--engines", default=None,
                        help="comma-separated subset of: " + ", ".join(ENGINES))
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    import duckdb
    import pandas
    import polars

    from flowrisk.synth import WorldParams, generate_world

    print(machine_line(polars=polars.__version__, duckdb=duckdb.__version__,
                       pandas=pandas.__version__))
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        world = Path(workdir) / "world"
        manifest = generate_world(WorldParams(entities=args.entities, seed=42), world)
        print(f"world: {args.entities:,} entities, {manifest['rows']['transactions']:,} "
              f"transactions; as_of {AS_OF.date()}")
        chosen = args.engines.split(",") if args.engines else list(ENGINES)
        names = [n for n in chosen if not (args.no_pandas and n.startswith("pandas"))]
        results = [_measure(n, str(world)) for n in names]
    core = next((r for r in results if r["engine"] == "polars core"), None)
    print("| engine | seconds | peak RSS GiB | entities | polars core / engine |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        note = f" ({r['failed']})" if "failed" in r else ""
        print(f"| {r['engine']}{note} | {r['seconds']:.1f} | {r['peak_gib']:.2f} | "
              f"{r['rows']:,} | {core['seconds'] / r['seconds'] if core else float('nan'):.2f} |")
    full = next((r for r in results if r["engine"] == "flowrisk profiles (every family)"), None)
    for other in ("earlier families", "without motif"):
        base = next((r for r in results if r["engine"] == f"flowrisk profiles ({other})"), None)
        if full and base:
            print(f"\nevery family / {other}: {full['seconds'] / base['seconds']:.2f}x time, "
                  f"{full['peak_gib'] / base['peak_gib']:.2f}x peak memory")


if __name__ == "__main__":
    main()
