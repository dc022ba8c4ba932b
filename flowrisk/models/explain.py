"""Explained scores: exact TreeSHAP contributions (LightGBM ``pred_contrib``) turned into reasons
an analyst can put in a case file.

Each reason is one feature that pushed the score up (or, among the strongest, pulled it down),
rendered from its catalog template with the entity's value and a baseline: the sector median
for the business features that have one, otherwise the median and 90th percentile of honest
peers of the same entity type at training time. Typology tags say what kind of scheme the entity
resembles: the families whose features stand out most against honest peers, plus red flags (the
model's contributions alone would tag almost every launderer a mule: correlated features let
the trees reach a risky entity through whichever family splits first). Evidence (transaction,
asset and report ids) comes from the red flags of the same family. Pure: the inputs are frames
already in memory.

A reason never contradicts its baseline: a feature that raises the score while its value sits on
the honest side of the baseline (its catalog ``direction`` against the honest peers' median, or
0 for a z-score against the sector), or lowers it from the risky side, is left out for the next
reason (``flowrisk.models.reasons``). Reasons backed by the same red flag
are merged into one, no evidence id is cited twice, and numbers are stored rounded to
``DECIMALS`` places so that no JSON shows them in scientific notation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from flowrisk.features import (
    FAMILY_TYPOLOGY,
    FLAG_SCHEMA,
    Baselines,
    Feature,
    catalog,
    evidence_links,
)
from flowrisk.models.reasons import Choice, choose, evidence_of, references, risky_gap
from flowrisk.models.scorer import RiskModel, probability_text, score_text
from flowrisk.schema import BANDS

__all__ = [
    "DECIMALS",
    "EXPLANATION_SCHEMA",
    "REASON",
    "contributions",
    "explain",
    "format_value",
    "reason_lines",
]

# A reason whose feature names a red flag (the catalog's ``evidence_links``) carries that flag's
# evidence; other reasons take their family's remaining evidence, on the family's strongest
# reason only, so that an analyst does not read the same ids twice (``reasons.evidence_of``).
TOP_UP = 5  # reasons that raised the score
TOP_DOWN = 3  # strongest reasons that lowered it
MAX_TAGS = 3
FLAG_WEIGHT = 0.5  # a red flag counts as half a family's features standing out
DECIMALS = 4  # contributions, values and baselines: 0.0001 or 0, never 1e-05 in JSON

REASON = pl.Struct(
    {
        "family": pl.String,
        "typology": pl.String,
        "feature": pl.String,
        "direction": pl.String,  # "raises" or "lowers"
        "contribution": pl.Float64,  # log-odds
        "value": pl.Float64,
        "baseline": pl.Float64,
        "baseline_kind": pl.String,  # "sector median" or "peer median"
        "text": pl.String,
        "evidence": pl.List(pl.String),
        "merged": pl.List(pl.String),  # features of reasons with the same evidence, merged in
    }
)
RED_FLAG = pl.Struct({k: v for k, v in FLAG_SCHEMA.items() if k != "entity_id"})
EXPLANATION_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "entity_id": pl.String,
        "probability": pl.Float64,
        "score": pl.Float64,
        "band": pl.Enum(BANDS),
        "raw_log_odds": pl.Float64,
        "bias": pl.Float64,
        "tags": pl.List(pl.String),
        "reasons": pl.List(REASON),
        "red_flags": pl.List(RED_FLAG),
    }
)
Flag = dict[str, Any]  # one red flag of an entity: flag, family, text, evidence


def format_value(value: float, unit: str) -> str:
    """A feature value as an analyst reads it, by unit."""
    match unit:
        case "EUR":
            return f"{value:,.0f} EUR"
        case "share":
            return f"{value:.0%}"
        case "count":
            return f"{value:,.0f}"
        case "z":
            return f"{value:+.1f} sd"
        case "years":
            return f"{value:.1f} years"
        case "hours":
            return f"{value:,.0f} h"
        case "flag":
            return "yes" if value >= 0.5 else "no"
        case _:
            return f"{value:,.2f}"


def contributions(model: RiskModel, profiles: pl.DataFrame) -> np.ndarray:
    """Exact TreeSHAP contributions in log-odds, one column per feature then the bias; each row
    adds up to the booster's raw (log-odds) score."""
    x = model.matrix(profiles)
    return np.asarray(model.booster.predict(x, pred_contrib=True, num_threads=1))


def _statement(feature: Feature, value: float, sector: float | None) -> str:
    """What one value says, without the peers' baseline: the template (with the sector median
    when the feature has one and it is known)."""
    if feature.baseline and sector is not None and np.isfinite(sector):
        return feature.render(value, sector)
    if feature.baseline:  # sector unknown: say what the value is without the sector wording
        return f"{feature.description}: {format_value(value, feature.unit)}"
    return feature.render(value)


def _render(
    feature: Feature,
    value: float,
    kind: str,
    peers: tuple[float, float] | None,
    sector: float | None,
) -> tuple[str, float | None, str | None]:
    """Text, baseline and its kind for one feature value."""
    text = _statement(feature, value, sector)
    if feature.baseline and sector is not None and np.isfinite(sector):
        return text, round(sector, DECIMALS), "sector median"
    if peers is None:
        return f"{text} (no peer baseline in this model)", None, None
    median, p90 = peers
    peer = "companies" if kind == "company" else "people"
    return (
        f"{text}; honest {peer}: median {format_value(median, feature.unit)}, 90th percentile "
        f"{format_value(p90, feature.unit)}",
        round(median, DECIMALS),
        "peer median",
    )


def _lower(text: str) -> str:
    """A sentence continued after a semicolon: its first letter in lower case (not an
    acronym's)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _stand_out(
    model: RiskModel, values: np.ndarray, kinds: Sequence[str], features: Sequence[Feature]
) -> np.ndarray:
    """True where a value stands out against honest peers of the same entity type: above their
    90th percentile for a feature where higher is riskier, below their median where lower is."""
    out = np.zeros(values.shape, dtype=np.float64)
    for kind in set(kinds):
        rows = np.array([k == kind for k in kinds])
        peers = model.peers.get(kind, {})
        for j, f in enumerate(features):
            if f.name not in peers or f.direction == 0:
                continue
            median, p90 = peers[f.name]
            v = values[rows, j]
            hit = v > p90 if f.direction > 0 else v < median
            out[rows, j] = np.where(np.isfinite(v), hit, False)
    return out


def _finite(value: Any) -> bool:
    """True for a number that is not NaN or infinite (a sector value that is known)."""
    return isinstance(value, int | float) and bool(np.isfinite(value))


def _flags_of(red_flags: pl.DataFrame | None) -> dict[str, list[Flag]]:
    """Red-flag rows grouped by entity, in row order."""
    out: dict[str, list[Flag]] = {}
    if red_flags is not None:
        for row in red_flags.iter_rows(named=True):
            out.setdefault(row["entity_id"], []).append(
                {k: row[k] for k in ("flag", "family", "text", "evidence")}
            )
    return out


def _sector_lookup(
    sectors: pl.DataFrame | None, baselines: Baselines | None
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Entity -> sector code, and sector code -> the sector values reasons compare with."""
    sector_of: dict[str, str] = {}
    if sectors is not None:
        sector_of = dict(
            sectors.drop_nulls("sector_code").select("entity_id", "sector_code").iter_rows()
        )
    sector_values: dict[str, dict[str, Any]] = {}
    if baselines is not None:
        sector_values = {
            row["sector_code"]: row for row in baselines.sector_reference().iter_rows(named=True)
        }
    return sector_of, sector_values


def _family_scores(
    model: RiskModel,
    contrib: np.ndarray,
    values: np.ndarray,
    kinds: Sequence[str],
    features: Sequence[Feature],
    flags: Sequence[Sequence[Flag]],
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Family names, each family's push on each entity's score (summed contributions), and its
    tag score: the share of its features beyond honest peers plus its red flags, weighted."""
    families = [f.family for f in features]
    family_names = sorted(set(families))
    member = np.array([[f == fam for f in families] for fam in family_names], dtype=np.float64)
    family_sum = contrib[:, :-1] @ member.T  # entities x families: the model's push
    standing = _stand_out(model, values, kinds, features) @ member.T
    standing /= member.sum(axis=1)  # share of each family's features beyond honest peers
    flag_count = np.array(
        [[sum(f["family"] == fam for f in mine) for fam in family_names] for mine in flags]
    ).reshape(len(flags), len(family_names))
    return family_names, family_sum, standing + FLAG_WEIGHT * flag_count


def _tags(family_names: Sequence[str], scores: np.ndarray) -> list[str]:
    """The typologies of the (at most ``MAX_TAGS``) families with the highest positive tag
    scores."""
    return [
        FAMILY_TYPOLOGY[family_names[j]]
        for j in np.argsort(-scores, kind="stable")[:MAX_TAGS]
        if scores[j] > 0
    ]


def _reasons(
    model: RiskModel,
    features: Sequence[Feature],
    choice: Choice,
    evidence: Mapping[int, list[str]],
    c: np.ndarray,
    values: np.ndarray,
    kind: str,
    sector: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One entity's reasons (``REASON`` rows) for the chosen features, merged raises joined
    into one sentence."""
    peers = model.peers.get(kind, {})

    def sector_of(feature: Feature) -> float | None:
        return sector.get(feature.baseline) if feature.baseline else None

    reasons = []
    for j in choice.shown:
        feature = features[j]
        value = round(float(values[j]), DECIMALS)
        text, baseline, baseline_kind = _render(
            feature, value, kind, peers.get(feature.name), sector_of(feature)
        )
        merged = choice.merged.get(j, [])
        for m in merged:
            other = features[m]
            also, _, _ = _render(
                other,
                round(float(values[m]), DECIMALS),
                kind,
                peers.get(other.name),
                sector_of(other),
            )
            text += f"; also {_lower(also)}"
        contribution = float(c[j]) + sum(float(c[m]) for m in merged)
        reasons.append(
            {
                "family": feature.family,
                "typology": feature.typology,
                "feature": feature.name,
                "direction": "raises" if c[j] > 0 else "lowers",
                "contribution": round(contribution, DECIMALS),
                "value": value,
                "baseline": baseline,
                "baseline_kind": baseline_kind,
                "text": text,
                "evidence": evidence.get(j, []),
                "merged": [features[m].name for m in merged],
            }
        )
    return reasons


def explain(
    model: RiskModel,
    profiles: pl.DataFrame,
    *,
    baselines: Baselines | None = None,
    sectors: pl.DataFrame | None = None,
    red_flags: pl.DataFrame | None = None,
    top_up: int = TOP_UP,
    top_down: int = TOP_DOWN,
) -> pl.DataFrame:
    """Scores with reasons for every profile row (see ``EXPLANATION_SCHEMA``).

    ``sectors`` (``entity_id``, ``sector_code``) and ``baselines`` give the sector medians;
    ``red_flags`` (``entity_id``, ``flag``, ``family``, ``text``, ``evidence``) are attached to
    the entity and, as evidence, to its reasons of the same family."""
    by_name = {f.name: f for f in catalog()}
    features = [by_name[n] for n in model.features]
    contrib = contributions(model, profiles)
    raw_log_odds = contrib.sum(axis=1)
    raw = model.raw(profiles)  # the scorer's own numbers, so that explained == scored
    probability, score, bands = model.scored(raw)
    values = model.matrix(profiles)
    kinds = profiles["entity_type"].to_list()
    ids = profiles["entity_id"].to_list()
    sector_of, sector_values = _sector_lookup(sectors, baselines)
    flags_of = _flags_of(red_flags)
    flags = [flags_of.get(e, []) for e in ids]
    links = evidence_links()
    family_names, family_sum, tag_score = _family_scores(
        model, contrib, values, kinds, features, flags
    )
    sectors_of = [sector_values.get(sector_of.get(e, ""), {}) for e in ids]
    sector_known = np.array(
        [
            [f.baseline is not None and _finite(mine.get(f.baseline)) for f in features]
            for mine in sectors_of
        ],
        dtype=bool,
    ).reshape(values.shape)
    reference = references(model, features, kinds, sector_known)
    gap = risky_gap(features, values, reference)
    known = np.isfinite(values)
    rows = []
    for i, entity in enumerate(ids):
        order = np.argsort(-family_sum[i], kind="stable")
        rank = {family_names[j]: r for r, j in enumerate(order)}
        c = np.where(known[i], contrib[i, :-1], np.nan)
        raised = {flag["flag"] for flag in flags[i]}
        flag_of = {
            j: links[f.name]
            for j, f in enumerate(features)
            if f.name in links and links[f.name] in raised
        }
        choice = choose(
            c,
            gap[i],
            flag_of,
            [rank[f.family] for f in features],
            top_up,
            top_down,
            DECIMALS,
        )
        evidence = evidence_of(choice, features, flag_of, flags[i])
        rows.append(
            {
                "entity_id": entity,
                "probability": float(probability[i]),
                "score": float(score[i]),
                "band": str(bands[i]),
                "raw_log_odds": float(raw_log_odds[i]),
                "bias": float(contrib[i, -1]),
                "tags": _tags(family_names, tag_score[i]),
                "reasons": _reasons(
                    model, features, choice, evidence, c, values[i], kinds[i], sectors_of[i]
                ),
                "red_flags": flags[i],
            }
        )
    return pl.DataFrame(rows, schema=EXPLANATION_SCHEMA)


def reason_lines(explanation: Mapping[str, Any], evidence_shown: int = 5) -> Sequence[str]:
    """One entity's explanation as lines of text (terminal, logs)."""
    out = [
        f"{explanation['entity_id']}: score {score_text(explanation['score'])} "
        f"({explanation['band']}, probability {probability_text(explanation['probability'])}), "
        f"typologies: {', '.join(explanation['tags']) or 'none'}"
    ]
    for reason in explanation["reasons"]:
        sign = "+" if reason["direction"] == "raises" else "-"
        line = f"  {sign} [{reason['family']}] {reason['text']}"
        if reason["evidence"]:
            shown = ", ".join(reason["evidence"][:evidence_shown])
            more = len(reason["evidence"]) - evidence_shown
            line += f" (evidence: {shown}{f' and {more} more' if more > 0 else ''})"
        out.append(line)
    for flag in explanation["red_flags"]:
        out.append(f"  ! {flag['text']}")
    return out
