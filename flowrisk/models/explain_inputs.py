"""What an explanation reads besides the contributions: each profile row's red flags, and the
sector values its reasons compare with (looked up once per sector, not per row)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from flowrisk.features import FLAG_SCHEMA, Baselines, Feature

__all__ = ["Flag", "finite", "flags_by_row", "red_flag_rows", "sector_known", "sector_lookup"]

Flag = dict[str, Any]  # one red flag of an entity: flag, family, text, evidence


def finite(value: Any) -> bool:
    """True for a number that is not NaN or infinite (a sector value that is known)."""
    return isinstance(value, int | float) and bool(np.isfinite(value))


def red_flag_rows(red_flags: pl.DataFrame | None, ids: Sequence[str]) -> pl.DataFrame:
    """The red-flag rows of each profile row (``row``: its position), in profile order, then
    in the order of ``red_flags`` (matched in Python: a join costs a one-entity request more
    than the few rows it matches)."""
    frame = FLAG_SCHEMA.to_frame() if red_flags is None else red_flags.select(FLAG_SCHEMA.names())
    at: dict[str, list[int]] = {}
    for row, entity in enumerate(ids):
        at.setdefault(entity, []).append(row)
    pairs = sorted(
        (row, k)
        for k, entity in enumerate(frame["entity_id"].to_list())
        for row in at.get(entity, ())
    )
    rows = pl.Series("row", [row for row, _ in pairs], dtype=pl.UInt32)
    taken = frame[pl.Series([k for _, k in pairs], dtype=pl.UInt32)] if pairs else frame.clear()
    return taken.with_columns(rows)


def flags_by_row(flag_rows: pl.DataFrame) -> dict[int, list[Flag]]:
    """Red flags of each profile row that has some, in order."""
    out: dict[int, list[Flag]] = {}
    for row in flag_rows.iter_rows(named=True):
        out.setdefault(row["row"], []).append(
            {k: row[k] for k in ("flag", "family", "text", "evidence")}
        )
    return out


def sector_lookup(
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


def sector_known(
    features: Sequence[Feature], codes: Sequence[str], sector_values: Mapping[str, Mapping]
) -> np.ndarray:
    """Entities x features: true where the entity's sector has a value for the feature's
    baseline (worked out once per sector)."""
    distinct = sorted(set(codes))
    at = {code: k for k, code in enumerate(distinct)}
    known = np.array(
        [
            [
                f.baseline is not None and finite(sector_values.get(code, {}).get(f.baseline))
                for f in features
            ]
            for code in distinct
        ],
        dtype=bool,
    ).reshape(len(distinct), len(features))
    return known[np.array([at[c] for c in codes], dtype=np.int64)]
