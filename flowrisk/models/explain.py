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
import pyarrow as pa

from flowrisk.features import (
    FAMILY_TYPOLOGY,
    FLAG_SCHEMA,
    Baselines,
    Feature,
    catalog,
    evidence_links,
)
from flowrisk.models.explain_inputs import (
    Flag,
    flags_by_row,
    red_flag_rows,
    sector_known,
    sector_lookup,
)
from flowrisk.models.explain_text import DECIMALS, Texts, format_value, lower, reason_lines
from flowrisk.models.reasons import Choice, choose_all, evidence_of, references, risky_gap
from flowrisk.models.scorer import RiskModel
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


def contributions(model: RiskModel, profiles: pl.DataFrame, threads: int = 1) -> np.ndarray:
    """Exact TreeSHAP contributions in log-odds, one column per feature then the bias; each row
    adds up to the booster's raw (log-odds) score. Rows are independent, so ``threads`` (0:
    LightGBM's default, every core) changes the time, never a bit of the result."""
    x = model.matrix(profiles)
    return np.asarray(model.booster.predict(x, pred_contrib=True, num_threads=threads))


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


def _family_scores(
    model: RiskModel,
    contrib: np.ndarray,
    values: np.ndarray,
    kinds: Sequence[str],
    features: Sequence[Feature],
    flag_rows: pl.DataFrame,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Family names, each family's push on each entity's score (summed contributions), and its
    tag score: the share of its features beyond honest peers plus its red flags, weighted."""
    families = [f.family for f in features]
    family_names = sorted(set(families))
    member = np.array([[f == fam for f in families] for fam in family_names], dtype=np.float64)
    family_sum = contrib[:, :-1] @ member.T  # entities x families: the model's push
    standing = _stand_out(model, values, kinds, features) @ member.T
    standing /= member.sum(axis=1)  # share of each family's features beyond honest peers
    flag_count = np.zeros((len(kinds), len(family_names)))
    at = {name: k for k, name in enumerate(family_names)}
    column = [at.get(f, -1) for f in flag_rows["family"].to_list()]
    for row, k in zip(flag_rows["row"].to_list(), column, strict=True):
        if k >= 0:
            flag_count[row, k] += 1
    return family_names, family_sum, standing + FLAG_WEIGHT * flag_count


def _tags(family_names: Sequence[str], scores: np.ndarray) -> list[list[str]]:
    """Per entity, the typologies of the (at most ``MAX_TAGS``) families with the highest
    positive tag scores."""
    typology = [FAMILY_TYPOLOGY[name] for name in family_names]
    top = np.argsort(-scores, axis=1, kind="stable")[:, :MAX_TAGS]
    positive = (np.take_along_axis(scores, top, axis=1) > 0).tolist()
    return [
        [typology[j] for j, keep in zip(row, kept, strict=True) if keep]
        for row, kept in zip(top.tolist(), positive, strict=True)
    ]


def _family_rank(
    family_sum: np.ndarray, features: Sequence[Feature], names: list[str]
) -> np.ndarray:
    """Entities x features: the rank of each feature's family by its push on the score (0: the
    family that raised it most; ties in family order)."""
    order = np.argsort(-family_sum, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[1])[None, :], axis=1)
    return rank[:, [names.index(f.family) for f in features]]


def _flag_keys(
    features: Sequence[Feature], flags_of: Mapping[int, Sequence[Flag]], n: int
) -> list[Mapping[int, str]]:
    """Per entity, feature index -> the red flag backing its reasons, for raised flags only."""
    links = evidence_links()
    linked = [(j, links[f.name]) for j, f in enumerate(features) if f.name in links]
    none: dict[int, str] = {}
    out: list[Mapping[int, str]] = [none] * n
    for i, mine in flags_of.items():
        raised = {flag["flag"] for flag in mine}
        out[i] = {j: flag for j, flag in linked if flag in raised}
    return out


LISTS = ("evidence", "merged")  # the reason fields that are lists of strings


class _Rows:
    """Reasons (``REASON`` fields) collected column by column, list fields flattened (a list of
    Python lists costs Polars a Series each), with how many each entity has."""

    def __init__(self, n: int) -> None:
        self.columns: dict[str, list[Any]] = {
            name: [] for name in REASON.to_schema() if name not in LISTS
        }
        self.items: dict[str, list[str]] = {name: [] for name in LISTS}
        self.lengths: dict[str, list[int]] = {name: [] for name in LISTS}
        self.scalars = list(self.columns.values())
        self.counts: np.ndarray = np.zeros(n, dtype=np.int64)

    def add(self, values: tuple[Any, ...], evidence: list[str], merged: list[str]) -> None:
        """One reason: its scalar fields in ``REASON`` order, then its two lists."""
        for column, value in zip(self.scalars, values, strict=True):
            column.append(value)
        self.items["evidence"].extend(evidence)
        self.lengths["evidence"].append(len(evidence))
        self.items["merged"].extend(merged)
        self.lengths["merged"].append(len(merged))

    def series(self, name: str) -> pl.Series:
        schema = REASON.to_schema()
        columns = {
            field: _nested(field, pl.Series(field, self.items[field], dtype=pl.String),
                           self.lengths[field])
            if field in LISTS
            else pl.Series(field, self.columns[field], dtype=dtype)
            for field, dtype in schema.items()
        }  # fmt: skip
        return _nested(name, pl.DataFrame(columns), self.counts)


def _nested(
    name: str, flat: pl.DataFrame | pl.Series, counts: Sequence[int] | np.ndarray
) -> pl.Series:
    """A list column whose row ``i`` holds the next ``counts[i]`` values (rows of a frame as
    structs) of ``flat``."""
    offsets = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])
    values = flat.to_struct(name) if isinstance(flat, pl.DataFrame) else flat
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values.to_arrow())
    return pl.Series(name, pl.from_arrow(lists)).cast(pl.List(values.dtype))


def _reasons(
    rows: _Rows,
    texts: Texts,
    features: Sequence[Feature],
    choice: Choice,
    evidence: Mapping[int, list[str]],
    c: np.ndarray,
    values: np.ndarray,
    kind: str,
    sector: Mapping[str, Any],
) -> int:
    """One entity's reasons (``REASON`` rows) for the chosen features, merged raises joined
    into one sentence, added to ``rows``; returns how many."""
    for j in choice.shown:
        feature = features[j]
        value = round(float(values[j]), DECIMALS)
        text, baseline, baseline_kind = texts(j, value, kind, sector)
        merged = choice.merged.get(j, [])
        for m in merged:
            also, _, _ = texts(m, round(float(values[m]), DECIMALS), kind, sector)
            text += f"; also {lower(also)}"
        contribution = float(c[j]) + sum(float(c[m]) for m in merged)
        rows.add(
            (
                feature.family,
                feature.typology,
                feature.name,
                "raises" if c[j] > 0 else "lowers",
                round(contribution, DECIMALS),
                value,
                baseline,
                baseline_kind,
                text,
            ),
            evidence.get(j, []),
            [features[m].name for m in merged],
        )
    return len(choice.shown)


def explain(
    model: RiskModel,
    profiles: pl.DataFrame,
    *,
    baselines: Baselines | None = None,
    sectors: pl.DataFrame | None = None,
    red_flags: pl.DataFrame | None = None,
    top_up: int = TOP_UP,
    top_down: int = TOP_DOWN,
    threads: int = 1,
) -> pl.DataFrame:
    """Scores with reasons for every profile row (see ``EXPLANATION_SCHEMA``).

    ``sectors`` (``entity_id``, ``sector_code``) and ``baselines`` give the sector medians;
    ``red_flags`` (``entity_id``, ``flag``, ``family``, ``text``, ``evidence``) are attached to
    the entity and, as evidence, to its reasons of the same family. Vectorised over the rows:
    one TreeSHAP call, reasons chosen on whole arrays (``reasons.choose_all``), texts rendered
    once per distinct value."""
    by_name = {f.name: f for f in catalog()}
    features = [by_name[n] for n in model.features]
    contrib = contributions(model, profiles, threads)
    raw = model.raw(profiles)  # the scorer's own numbers, so that explained == scored
    probability, score, bands = model.scored(raw)
    values = model.matrix(profiles)
    kinds = profiles["entity_type"].cast(pl.String).to_list()
    ids = profiles["entity_id"].to_list()
    sector_of, sector_values = sector_lookup(sectors, baselines)
    flag_rows = red_flag_rows(red_flags, ids)
    flags_of = flags_by_row(flag_rows)
    family_names, family_sum, tag_score = _family_scores(
        model, contrib, values, kinds, features, flag_rows
    )
    codes = [sector_of.get(e, "") for e in ids]
    reference = references(model, features, kinds, sector_known(features, codes, sector_values))
    c = np.where(np.isfinite(values), contrib[:, :-1], np.nan)
    flag_of = _flag_keys(features, flags_of, len(ids))
    choices = choose_all(
        c,
        risky_gap(features, values, reference),
        flag_of,
        _family_rank(family_sum, features, family_names),
        top_up,
        top_down,
        DECIMALS,
        sum(1 for f in features if f.name in evidence_links()),
    )
    texts, reasons = Texts(model, features), _Rows(len(ids))
    for i, choice in enumerate(choices):
        mine = flags_of.get(i)
        evidence = evidence_of(choice, features, flag_of[i], mine) if mine else {}
        sector = sector_values.get(codes[i], {})
        reasons.counts[i] = _reasons(
            reasons, texts, features, choice, evidence, c[i], values[i], kinds[i], sector
        )
    flag_counts = np.bincount(flag_rows["row"].to_numpy(), minlength=len(ids))
    return pl.DataFrame(
        [
            pl.Series("entity_id", ids, dtype=pl.String),
            pl.Series("probability", probability, dtype=pl.Float64),
            pl.Series("score", score, dtype=pl.Float64),
            pl.Series("band", bands.astype(str), dtype=pl.String).cast(pl.Enum(BANDS)),
            pl.Series("raw_log_odds", contrib.sum(axis=1), dtype=pl.Float64),
            pl.Series("bias", contrib[:, -1], dtype=pl.Float64),
            pl.Series("tags", _tags(family_names, tag_score), dtype=pl.List(pl.String)),
            reasons.series("reasons"),
            _nested("red_flags", flag_rows.select(list(RED_FLAG.to_schema())), flag_counts),
        ]
    )
