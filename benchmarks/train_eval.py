"""Held-out detection of flowrisk against the two baselines a user would otherwise run (threshold
rules of a transaction-monitoring engine, LightGBM on raw per-entity sums), on a generated world.

Runs the same `train_and_register` as `flowrisk train` (into a throwaway SQLite store) and prints
Markdown tables for benchmarks/RESULTS.md: headline metrics per model and recall per typology.

    python benchmarks/train_eval.py --entities 50000 --seed 7
    python benchmarks/train_eval.py --entities 50000 --seed 7 --prevalence-scale 0.25
    python benchmarks/train_eval.py --entities 50000 --seed 7 --prevalence-scale 0.25 \
        --intensity-scale 0.4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine_line

from flowrisk.models.card import typology_recall
from flowrisk.models.evaluate import HEADLINE
from flowrisk.models.registry import Registry
from flowrisk.models.training_run import train_and_register
from flowrisk.synth import WorldParams, generate_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--prevalence-scale",
        type=float,
        default=1.0,
        help="Multiply every typology's default prevalence (1 = about 3%% of entities).",
    )
    parser.add_argument(
        "--intensity-scale",
        type=float,
        default=1.0,
        help="Multiply every typology's intensity (0.5 = schemes half as marked).",
    )
    args = parser.parse_args()
    import lightgbm
    import polars

    base = WorldParams(entities=args.entities, seed=args.seed)
    params = base.with_overrides(
        prevalence={n: t.prevalence * args.prevalence_scale for n, t in base.typologies.items()},
        intensity={n: t.intensity * args.intensity_scale for n, t in base.typologies.items()},
    )
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        started = time.perf_counter()
        generate_world(params, world)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        result = train_and_register(
            world,
            registry=Registry(f"sqlite:///{Path(tmp) / 'mlflow.db'}", Path(tmp) / "mlartifacts"),
            seed=args.seed,
            step=lambda text: print(f"  {text}", file=sys.stderr, flush=True),
        )
        trained = time.perf_counter() - started
    test = result.split["test"]
    machine = machine_line(polars=polars.__version__, lightgbm=lightgbm.__version__)
    print(f"{date.today().isoformat()}; {machine}")
    print(
        f"\nWorld: {args.entities:,} entities, seed {args.seed}, prevalence x "
        f"{args.prevalence_scale:g}, intensity x {args.intensity_scale:g}; generated in "
        f"{generated:.0f} s, trained and evaluated "
        f"(3 models, charts, registry) in {trained:.0f} s. Snapshots {', '.join(result.dates)}; "
        f"held-out: {test['rows']:,} entities never trained on, {test['positives']:,} positive "
        f"({test['positives'] / test['rows']:.2%}) at {result.dates[-1]}.\n"
    )
    print("| model | " + " | ".join(HEADLINE.values()) + " |")
    print("|---|" + "---:|" * len(HEADLINE))
    for name, values in result.metrics.items():
        print(f"| {name} | " + " | ".join(f"{values[k]:.3f}" for k in HEADLINE) + " |")
    ours = result.metrics["flowrisk"]
    print(
        f"\nflowrisk calibration: Brier {ours['brier']:.4f}, expected calibration error "
        f"{ours['calibration_error']:.4f}.\n"
    )
    print("| typology | positives | " + " | ".join(result.metrics) + " |")
    print("|---|---:|" + "---:|" * len(result.metrics))
    for typology, values in ours["recall_per_typology"].items():
        cells = " | ".join(f"{typology_recall(m, typology):.2f}" for m in result.metrics.values())
        print(f"| {typology} | {values['positives']} | {cells} |")


if __name__ == "__main__":
    main()
