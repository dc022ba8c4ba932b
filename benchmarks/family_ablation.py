"""Which feature families carry the signal on a labelled dataset: flowrisk's learner on the same
snapshots and split as `flowrisk benchmark`, with every family, with each family left out, and
with each family alone; held-out PR-AUC and ROC-AUC of the raw scores
(:func:`flowrisk.models.ablation.family_ablation`; `flowrisk benchmark --family-ablation`
reports the same table beside the baselines).

    python benchmarks/family_ablation.py /tmp/amlsim
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowrisk.features import fit_baselines, partitions_for
from flowrisk.io import read_labelled
from flowrisk.models.ablation import family_ablation
from flowrisk.models.dataset import snapshot_dates, snapshots, split_snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    tables, labels, _ = read_labelled(args.dataset, "the ablation", verify=False)
    frames = {name: frame.collect().lazy() for name, frame in tables.items()}
    dates = snapshot_dates(frames)
    data = snapshots(frames, labels, dates, fit_baselines(frames, dates[0], partitions_for(frames)))
    split = split_snapshots(data, seed=args.seed)
    print("| features | count | PR-AUC | ROC-AUC |\n|---|---:|---:|---:|")
    for name, m in family_ablation(split, seed=args.seed).items():
        pr, roc = m["pr_auc"], m["roc_auc"]
        cells = "— | —" if pr is None else f"{pr:.3f} | {roc:.3f}"
        print(f"| {name} | {m['features']} | {cells} |", flush=True)
    test = split.test
    print(f"\n{test.height:,} held-out rows, {int(test['label'].sum())} positive", file=sys.stderr)


if __name__ == "__main__":
    main()
