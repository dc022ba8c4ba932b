"""The benchmark's results as Markdown: one table of the four models per dataset (with the
ceiling prevalence puts on recall at 1 %), one of flowrisk's paired differences to the best
baseline, and the family ablation when it ran."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["METRIC_TITLES", "benchmark_markdown"]

METRIC_TITLES = {
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "f1_minority": "minority F1",
    "recall_at_1pct": "recall @1%",
}


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def _models_table(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = [
        "| dataset | model | " + " | ".join(METRIC_TITLES.values()) + " |",
        "|---|---|" + "---:|" * len(METRIC_TITLES),
    ]
    for dataset, result in results.items():
        for model, metrics in result["metrics"].items():
            cells = " | ".join(_number(metrics[k]) for k in METRIC_TITLES)
            lines.append(f"| {dataset} | {model} | {cells} |")
        cap = result["recall_at_1pct_cap"]["cap"]
        ceiling = " | ".join(f"*{cap:.3f}*" if k == "recall_at_1pct" else "" for k in METRIC_TITLES)
        lines.append(f"| {dataset} | *ceiling (prevalence)* | {ceiling} |")
    return lines


def _differences_table(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    level = next(iter(next(iter(results.values()))["differences"].values()))["level"]
    lines = [
        f"| dataset | metric | flowrisk | best baseline | difference [{level:.0%} CI] |",
        "|---|---|---:|---|---:|",
    ]
    for dataset, result in results.items():
        ours = result["metrics"]["flowrisk"]
        for metric, d in result["differences"].items():
            best = result["metrics"][d["versus"]][metric]
            verdict = " ✓" if d["low"] > 0 else (" ✗" if d["high"] < 0 else "")
            lines.append(
                f"| {dataset} | {METRIC_TITLES[metric]} | {ours[metric]:.3f} | "
                f"{d['versus']} {best:.3f} | {_signed(d['difference'])} "
                f"[{_signed(d['low'])}, {_signed(d['high'])}]{verdict} |"
            )
    return lines


def _notes(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    notes = []
    for dataset, result in results.items():
        test = result["split"]["test"]
        cap = result["recall_at_1pct_cap"]
        line = (
            f"- {dataset}: snapshots {', '.join(d[:10] for d in result['dates'])}; held out "
            f"{test['rows']:,} entities never trained on at {result['dates'][-1][:10]}, "
            f"{test['positives']:,} positive ({test['positives'] / max(test['rows'], 1):.2%})."
        )
        if cap["capped"]:
            line += (
                f" Recall @1% is capped at {cap['cap']:.3f}: {cap['positives']:,} positives "
                f"for {cap['alerts']:,} alerts (1 % of the test rows)."
            )
        else:
            line += (
                f" Recall @1% can reach 1: {cap['positives']:,} positives fit in "
                f"{cap['alerts']:,} alerts (1 % of the test rows)."
            )
        notes.append(line)
    return notes


def _ablation_tables(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    for dataset, result in results.items():
        runs = result.get("family_ablation")
        if not runs:
            continue
        lines += [
            "",
            f"### What each feature family adds on {dataset}",
            "",
            "| features | count | PR-AUC | ROC-AUC |",
            "|---|---:|---:|---:|",
        ]
        for name, m in runs.items():
            lines.append(
                f"| {name} | {m['features']} | {_number(m['pr_auc'])} | {_number(m['roc_auc'])} |"
            )
    return lines


def benchmark_markdown(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown of :func:`flowrisk.models.external_bench.compare_on_dataset` results keyed by
    dataset name: the models' held-out metrics, flowrisk's differences to the best baseline
    with their paired bootstrap intervals (✓ above 0, ✗ below), and the ablations."""
    if not results:
        return ""
    resamples = next(iter(next(iter(results.values()))["differences"].values()))
    lines = [
        "## flowrisk against the baselines",
        "",
        "Each dataset on its own split (held-out entities at the last snapshot); every model "
        "fitted by flowrisk's one learner, so only the features differ.",
        "",
        *_models_table(results),
        "",
        "flowrisk minus the best baseline on each metric, with a paired bootstrap interval "
        f"({resamples['resamples'] + resamples['skipped']:,} resamples of the held-out entities):",
        "",
        *_differences_table(results),
        "",
        *_notes(results),
        *_ablation_tables(results),
    ]
    return "\n".join(lines) + "\n"
