"""How well each feature alone separates an entity type's guilty from its honest entities.

For every feature, the ROC-AUC between the entities labelled with the typology its family is
evidence of and the entities labelled honest (companies only for business features, persons
only for wealth features), oriented by the feature's direction. Ties share ranks; missing
values rank lowest.
"""

from __future__ import annotations

import polars as pl

from flowrisk.features.catalog import catalog

__all__ = ["auc", "feature_signal"]


def auc(scores: pl.Series, positive: pl.Series) -> float | None:
    """ROC-AUC of ``scores`` for the boolean ``positive`` (Mann-Whitney, average ranks)."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = scores.cast(pl.Float64).fill_null(float("-inf")).fill_nan(float("-inf")).rank()
    rank_sum = float(ranks.filter(positive).sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def feature_signal(profiles: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """One row per feature: typology, entities compared, and the oriented ROC-AUC."""
    data = profiles.join(labels.select("entity_id", "label", "typologies"), on="entity_id")
    rows = []
    for f in catalog():
        scope = data
        if f.family == "biz":
            scope = data.filter(pl.col("entity_type") == "company")
        elif f.family == "wealth":
            scope = data.filter(pl.col("entity_type") == "person")
        guilty = scope["typologies"].cast(pl.List(pl.String)).list.contains(f.typology)
        keep = guilty | (scope["label"] == 0)
        value = auc(scope[f.name].filter(keep), guilty.filter(keep))
        if value is not None and f.direction < 0:
            value = 1 - value
        rows.append(
            {"typology": f.typology, "feature": f.name, "guilty": int(guilty.sum()), "auc": value}
        )
    return pl.DataFrame(
        rows,
        schema={"typology": pl.String, "feature": pl.String, "guilty": pl.Int64, "auc": pl.Float64},
    )
