"""The model card: what a model is for, what it was trained and tested on, how it compares with
the baselines, and where it is weak, in Markdown for the registry and for reviewers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flowrisk.models.bands import SHARE_TOLERANCE, BandShare, drift_warning
from flowrisk.models.evaluate import BUDGETS, CEILINGS, HEADLINE, budget_tag
from flowrisk.models.feedback import FeedbackUse
from flowrisk.models.scorer import score_text

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
- Analysts' decisions: {feedback}

{sizes}

## Held-out results

Same test entities and date for every model; the baselines are the threshold rules of a
transaction-monitoring engine and LightGBM on raw per-entity sums.

{compared}

{ceilings}

Calibration of flowrisk's probabilities: Brier score {brier:.4f}, expected calibration
error {ece:.4f} (ten equal-width probability bins, each weighted by its share of entities).
The probability is strictly increasing in the model's output and never 0 or 1; the 0-100
score is that probability on a log-odds scale between the floor and the ceiling the
validation data supports, to five decimals.

### Bands against the alert budget

{bands}

### Recall per typology at a 1% alert budget

{per_typology}

## What drives the model

{features}

## Training

LightGBM, early stopping and centred isotonic calibration on the validation split.
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


def _feedback(use: FeedbackUse | None) -> str:
    """The line saying how many analysts' decisions became labels."""
    if use is None:
        return "none used (labels are the dataset's own)."
    return (
        f"{use.used} feedback labels used ({use.positives} confirmed, {use.negatives} "
        f"dismissed) of {use.read} decisions read; each counts from its decision date on, "
        "overriding the dataset's label."
    )


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


def _bands(shares: Sequence[BandShare], thresholds: Mapping[str, float], budget: float) -> str:
    """Each band's lowest score, target share and held-out share, and the drift warning."""
    if not shares:
        return "Not measured for this version."
    table = _table(
        ["band", "from score", "target share", "held-out share", f"within {SHARE_TOLERANCE:.0%}"],
        [
            [
                s.band,
                score_text(thresholds.get(s.band, 0.0)),
                f"{s.target:.2%}",
                f"{s.share:.2%} ({s.entities:,})",
                "no" if s.drifted else "yes",
            ]
            for s in reversed(shares)
        ],
    )
    intro = (
        f"The bands are set on the displayed score from the alert budget ({budget:.2%} of "
        "entities high or critical) on validation data; a band drifts when its share is more "
        f"than {SHARE_TOLERANCE:.0%} of its target away from it (relative), and `flowrisk score` "
        "warns then."
    )
    warning = drift_warning(shares)
    return f"{intro}\n\n{table}" + (f"\n\nWarning on held-out data: {warning}." if warning else "")


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
    bands: Sequence[BandShare] = (),
    thresholds: Mapping[str, float] | None = None,
    alert_budget: float = 0.01,
    feedback: FeedbackUse | None = None,
) -> str:
    """Markdown card of one registered version; ``metrics`` maps model name (``flowrisk`` and
    the baselines) to its held-out metrics as returned by ``evaluate_scores``; ``params_file``
    names the file the LightGBM overrides came from (``flowrisk train --params``); ``bands``
    are the held-out shares per band (:func:`~flowrisk.models.bands.band_shares`) against the
    targets of ``alert_budget``, with the ``thresholds`` they start at; ``feedback``, the
    analysts' decisions the snapshots' labels took in (``flowrisk train --feedback``)."""
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
        bands=_bands(bands, thresholds or {}, alert_budget),
        features=features,
        tuned=", ".join(f"{k}={v}" for k, v in sorted(params.items())),
        source=f" (overrides from the file `{params_file}`)" if params_file else "",
        feedback=_feedback(feedback),
        **_results(metrics),
    )
