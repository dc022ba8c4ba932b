"""Per-feature signal on a generated world: ROC-AUC of each feature between the entities of the
typology its family is evidence of and the honest entities (see flowrisk.features.signal).

    python benchmarks/feature_signal.py --entities 50000
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from flowrisk.features import build_profiles, feature_signal, fit_baselines
from flowrisk.io import read_dataset
from flowrisk.synth import WorldParams, generate_world

AS_OF = datetime(2025, 12, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "world"
        generate_world(WorldParams(entities=args.entities, seed=args.seed), folder)
        frames = read_dataset(folder)
        profiles = build_profiles(frames, AS_OF, fit_baselines(frames, AS_OF)).collect(
            engine="streaming")
        labels = pl.read_parquet(folder / "labels.parquet")
    signal = feature_signal(profiles, labels)
    print(f"world: {args.entities:,} entities, seed {args.seed}, as_of {AS_OF.date()}")
    print("| typology | feature | guilty | ROC-AUC |")
    print("|---|---|---:|---:|")
    for r in signal.iter_rows(named=True):
        auc = "n/a" if r["auc"] is None else f"{r['auc']:.3f}"
        print(f"| {r['typology']} | `{r['feature']}` | {r['guilty']} | {auc} |")


if __name__ == "__main__":
    main()
