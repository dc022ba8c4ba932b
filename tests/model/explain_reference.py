"""The per-entity explanation loop as it was before explanations were vectorised over a
partition (``flowrisk.models.explain.explain``): kept, unchanged, as the oracle the vectorised
path must equal row for row (``tests/model/test_explain_parity.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from flowrisk.features import FAMILY_TYPOLOGY, Baselines, Feature, catalog, evidence_links
from flowrisk.models.explain import (
    DECIMALS,
    EXPLANATION_SCHEMA,
    FLAG_WEIGHT,
    MAX_TAGS,
    TOP_DOWN,
    TOP_UP,
    contributions,
    format_value,
)
from flowrisk.models.reasons import Choice, evidence_of, references, risky_gap
from flowrisk.models.scorer import RiskModel

Flag = dict[str, Any]


def choose(
    c: np.ndarray,
    gap: np.ndarray,
    flag_of: Mapping[int, str],
    family_rank: Sequence[int],
    top_up: int,
    top_down: int,
    decimals: int,
) -> Choice:
    """The features to explain for one entity (contributions ``c``, NaN where the value is
    unknown): the ``top_up`` strongest raises that read true, those backed by the same red flag
    (``flag_of``) merged into the first, then the ``top_down`` strongest lowers that are not on
    the risky side. Contributions that round to 0 at ``decimals`` places are no reason."""
    up: list[int] = []
    choice = Choice(up)
    first_of: dict[str, int] = {}
    for j in np.argsort(-np.nan_to_num(c, nan=0.0), kind="stable"):
        if len(up) == top_up or not round(float(c[j]), decimals) > 0:
            break
        if gap[j] <= 0:
            continue  # raises from the honest side: the next one
        key = flag_of.get(j)
        if key is not None and key in first_of:
            choice.merged[first_of[key]].append(j)
            continue
        if key is not None:
            first_of[key] = j
        up.append(j)
        choice.merged[j] = []
    up.sort(key=lambda j: (family_rank[j], -c[j]))  # family first
    down = [
        j
        for j in np.argsort(np.nan_to_num(c, nan=0.0), kind="stable")
        if round(float(c[j]), decimals) < 0 and not gap[j] > 0
    ][:top_down]
    choice.shown = up + down
    return choice


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
    values = profiles.select(model.features).to_numpy().astype(np.float64)
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
