"""The model card: what a model is for, what it was trained and tested on, how it compares with
the baselines, and where it is weak, in Markdown for the registry and for reviewers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowrisk.models.evaluate import BUDGETS, CEILINGS, HEADLINE, budget_tag

__all__ = ["CARD", "model_card", "typology_recall"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def typology_recall(values: Mapping[str, Any], typology: str) -> float:
    """Recall at a 1% budget of one typology in ``evaluate_scores`` output (0 when absent)."""
    return float(values["recall_per_typology"].get(typology, {}).get("recall_at_1pct", 0.0))


CARD = """# flowrisk model, version {version}

MLflow run `{run_id}`; feature set `{feature_set}`.

## Intended use

Ranks people and companies by the risk that their financial flows launder money, so that
analysts open the riskiest first. The probability is calibrated on held-out entities; the bands
(low, medium, high, critical) come from the alert budget. A score is a reason to look, never a
finding: every alert is reviewed by an analyst with the reasons and evidence flowrisk gives.

## Data

- Dataset: `{dataset}` (manifest digest `{digest}`).
- Point-in-time snapshots: {dates}. An entity counts as positive at a snapshot only when
  its scheme had started before it.
- The test split is the last snapshot's entities that training and validation never saw.

{sizes}

## Held-out results

Same test entities and date for every model; the baselines are the threshold rules of a
transaction-monitoring engine and LightGBM on raw per-entity sums.

{compared}

{ceilings}

Calibration of flowrisk's probabilities: Brier score {brier:.4f}, expected calibration
error {ece:.4f}.

### Recall per typology at a 1% alert budget

{per_typology}

## What drives the model

{features}

## Training

LightGBM, early stopping and isotonic calibration on the validation split.
Parameters{source}: {tuned}.

## Limitations

{weak}- Trained on what the dataset labels as laundering: typologies absent from it, or labelled
  differently, are not learnt.
- Recall at an alert budget is capped by prevalence: when more than the budget's share of
  entities is positive, even a perfect ranking cannot alert them all.
- Synthetic worlds are generated with known schemes; retrain and re-evaluate on your own data
  before relying on these figures.
"""


def _results(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The held-out tables: headline metrics per model, recall per typology, and the line
    naming the typologies flowrisk finds none of."""
    ours = metrics["flowrisk"]
    rows = [[name, *(f"{values[key]:.3f}" for key in HEADLINE)] for name, values in metrics.items()]
    if all(ceiling in ours for ceiling in CEILINGS.values()):
        rows.append(
            [
                "*ceiling (prevalence)*",
                *(f"*{ours[CEILINGS[key]]:.3f}*" if key in CEILINGS else "" for key in HEADLINE),
            ]
        )
    compared = _table(["model", *HEADLINE.values()], rows)
    typologies = sorted(
        {t for values in metrics.values() for t in values.get("recall_per_typology", {})}
    )
    per_typology = _table(
        ["typology", "positives", *metrics],
        [
            [
                t,
                str(ours["recall_per_typology"].get(t, {}).get("positives", 0)),
                *(f"{typology_recall(values, t):.2f}" for values in metrics.values()),
            ]
            for t in typologies
        ],
    )
    zero = [t for t in typologies if typology_recall(ours, t) == 0]
    weak = (
        f"- At a 1% alert budget the model finds no held-out entity of: {', '.join(zero)}.\n"
        if zero
        else ""
    )
    return {
        "compared": compared,
        "per_typology": per_typology,
        "weak": weak,
        "ceilings": _ceilings(ours),
    }


def _ceilings(ours: Mapping[str, Any]) -> str:
    """The sentence under the results: the best recall any ranking reaches at each budget."""
    if not all(ceiling in ours for ceiling in CEILINGS.values()):
        return ""  # metrics computed before evaluate_scores reported ceilings
    at = ", ".join(
        f"{ours[CEILINGS[f'recall_at_{budget_tag(b)}']]:.3f} at {b:.1%}".replace(".0%", "%")
        for b in BUDGETS
    )
    return (
        f"The ceiling row is the recall a perfect ranking would reach with "
        f"{ours['positives']:,} positives among {ours['rows']:,} test rows: {at}. "
        "A recall at its ceiling misses nothing the budget could have caught."
    )


def model_card(
    *,
    version: str,
    run_id: str,
    metrics: Mapping[str, Mapping[str, Any]],
    split: Mapping[str, Mapping[str, int]],
    dates: list[str],
    params: Mapping[str, Any],
    top_features: list[tuple[str, float]],
    dataset: str,
    dataset_digest: str | None,
    feature_set: str,
    params_file: str | None = None,
) -> str:
    """Markdown card of one registered version; ``metrics`` maps model name (``flowrisk`` and
    the baselines) to its held-out metrics as returned by ``evaluate_scores``; ``params_file``
    names the file the LightGBM overrides came from (``flowrisk train --params``)."""
    sizes = _table(
        ["split", "rows", "entities", "positives"],
        [[n, str(s["rows"]), str(s["entities"]), str(s["positives"])] for n, s in split.items()],
    )
    features = "\n".join(
        f"{i}. `{name}` ({share:.1%} of gain)" for i, (name, share) in enumerate(top_features, 1)
    )
    return CARD.format(
        version=version,
        run_id=run_id,
        feature_set=feature_set,
        dataset=dataset,
        digest=dataset_digest or "unknown",
        dates=", ".join(dates),
        sizes=sizes,
        brier=metrics["flowrisk"]["brier"],
        ece=metrics["flowrisk"]["calibration_error"],
        features=features,
        tuned=", ".join(f"{k}={v}" for k, v in sorted(params.items())),
        source=f" (overrides from the file `{params_file}`)" if params_file else "",
        **_results(metrics),
    )
