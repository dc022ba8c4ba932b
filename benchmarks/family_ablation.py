"""Which feature families carry the signal on a labelled dataset: flowrisk's learner on the same
snapshots and split as `flowrisk benchmark`, with every family, with each family left out, and
with each family alone; held-out PR-AUC and ROC-AUC of the raw scores.

    python benchmarks/family_ablation.py /tmp/amlsim
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from flowrisk.features import catalog, fit_baselines
from flowrisk.io import read_labelled
from flowrisk.models.dataset import snapshot_dates, snapshots, split_snapshots
from flowrisk.models.learner import fit_booster, predict_best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    tables, labels, _ = read_labelled(args.dataset, "the ablation", verify=False)
    frames = {name: frame.collect().lazy() for name, frame in tables.items()}
    dates = snapshot_dates(frames)
    data = snapshots(frames, labels, dates, fit_baselines(frames, dates[0]))
    split = split_snapshots(data, seed=args.seed)
    families = sorted({f.family for f in catalog()})
    every = [f.name for f in catalog()]
    runs = {"every family": every}
    for fam in families:
        runs[f"without {fam}"] = [f.name for f in catalog() if f.family != fam]
    for fam in families:
        runs[f"{fam} alone"] = [f.name for f in catalog() if f.family == fam]
    y_test = split.test["label"].to_numpy()
    print("| features | PR-AUC | ROC-AUC |\n|---|---:|---:|")
    for name, cols in runs.items():
        booster = fit_booster(
            split.train.select(cols).to_numpy(),
            split.train["label"].to_numpy(),
            split.valid.select(cols).to_numpy(),
            split.valid["label"].to_numpy(),
            names=cols,
            seed=args.seed,
        )
        scores = predict_best(booster, split.test.select(cols).to_numpy())
        if np.ptp(scores) == 0:
            print(f"| {name} | — | — |")
            continue
        pr, roc = average_precision_score(y_test, scores), roc_auc_score(y_test, scores)
        print(f"| {name} | {pr:.3f} | {roc:.3f} |", flush=True)
    print(f"\n{split.test.height:,} held-out rows, {int(y_test.sum())} positive", file=sys.stderr)


if __name__ == "__main__":
    main()
