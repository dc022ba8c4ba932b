"""Reading a table for validation: raw values kept for quarantine, check columns for the rules.

The check frame holds every schema column in a type the rules can test without losing a bad
value: enums and lists as text (an unknown enum value must reach its rule, not fail a cast), the
rest cast leniently with a flag where a text value could not be parsed. A Parquet column whose
type cannot stand for the schema's (text where a number belongs, say) makes the file unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flowrisk.errors import DatasetError, SchemaMismatch
from flowrisk.io import LIST_SEPARATOR
from flowrisk.schema import TIMESTAMP, TableSpec

__all__ = ["ROW", "Prepared", "conform_checked", "prepare", "scan_raw"]

ROW = "_row"  # position of the row in its source file, from 0
PARSE = "_parse_"  # prefix of the flag columns: value present but unreadable
NAIVE = "_naive_"  # prefix of the flag columns: timestamp without zone among zoned ones
_OFFSET = r"(Z|[+-]\d{2}(:?\d{2})?)$"


@dataclass
class Prepared:
    """One table ready for validation."""

    spec: TableSpec
    source: str
    raw: pl.LazyFrame  # source columns as read, plus ROW
    check: pl.LazyFrame  # schema columns in check types, ROW, and flag columns
    extra_columns: list[str]
    parse_flags: dict[str, str]  # column -> flag column
    naive_flags: dict[str, str]


def scan_raw(path: Path) -> pl.LazyFrame:
    """Scan a Parquet or CSV file as it is (CSV as text), failing early when it is unreadable."""
    try:
        if path.stat().st_size == 0:
            raise DatasetError(f"{path.name}: empty file")
        if path.suffix == ".csv":
            _check_utf8(path)
            frame = pl.scan_csv(path, infer_schema=False)
        else:
            frame = pl.scan_parquet(path)
        frame.collect_schema()
        frame.head(1).collect()
    except DatasetError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path.name}: cannot be read ({first})") from exc
    return frame


def _check_utf8(path: Path) -> None:
    """Raise naming the line of the first byte sequence that is not UTF-8."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"{path.name}: line {number} is not UTF-8 ({exc.reason} at byte "
                    f"{exc.start}); re-export the file as UTF-8"
                ) from None


def prepare(path: Path, spec: TableSpec) -> Prepared:
    """Scan ``path`` and build the raw and check frames of ``spec``'s table."""
    raw = scan_raw(path)
    have = raw.collect_schema()
    text_source = path.suffix == ".csv"
    exprs: list[pl.Expr] = [pl.col(ROW)]
    parse_flags: dict[str, str] = {}
    naive_flags: dict[str, str] = {}
    for column, want in spec.schema.items():
        if column not in have:
            if column in spec.required_columns:
                raise SchemaMismatch(spec.name, column, f"required column missing in {path.name}")
            exprs.append(pl.lit(None, dtype=_check_type(want)).alias(column))
            continue
        got = have[column]
        if got == pl.String and not text_source and _check_type(want) != pl.String:
            raise SchemaMismatch(
                spec.name, column, f"has type String in {path.name}, expected {want}"
            )
        value = _to_check(pl.col(column), got, want, spec.name, column, path.name)
        exprs.append(value.alias(column))
        if got == pl.String and _check_type(want) != pl.String:
            flag = PARSE + column
            parse_flags[column] = flag
            exprs.append((pl.col(column).is_not_null() & value.is_null()).alias(flag))
        if got == pl.String and want == TIMESTAMP:
            flag = NAIVE + column
            naive_flags[column] = flag
            zoned = pl.col(column).str.contains(_OFFSET)
            mixed = zoned.any() & (~zoned & pl.col(column).is_not_null()).any()
            exprs.append((mixed & ~zoned & value.is_not_null()).fill_null(False).alias(flag))
    extra = [c for c in have if c not in spec.schema]
    exprs.extend(pl.col(c) for c in extra)  # carried through untouched: nothing is lost
    raw = raw.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    return Prepared(spec, path.name, raw, raw.select(exprs), extra, parse_flags, naive_flags)


def _check_type(want: pl.DataType) -> pl.DataType:
    if isinstance(want, pl.Enum | pl.List):
        return pl.String()
    return want


def _to_check(
    expr: pl.Expr, got: pl.DataType, want: pl.DataType, table: str, column: str, source: str
) -> pl.Expr:
    """Convert one column to its check type, or raise when its type cannot stand for it."""
    converted = _convert(expr, got, want)
    if converted is None:
        raise SchemaMismatch(table, column, f"has type {got} in {source}, expected {want}")
    return converted


def _convert(expr: pl.Expr, got: pl.DataType, want: pl.DataType) -> pl.Expr | None:
    """``expr`` (of type ``got``) in the check type of ``want``; None when it cannot be."""
    if isinstance(want, pl.Enum):
        text = got == pl.String or isinstance(got, pl.Enum | pl.Categorical)
        return expr.cast(pl.String) if text else None
    if isinstance(want, pl.List):
        return _joined_list(expr, got)
    if got == pl.String:
        return _parse_text(expr, want)
    if want == TIMESTAMP:
        return _to_timestamp(expr, got)
    if want == pl.Date:
        return _to_date(expr, got)
    if want == pl.Boolean:
        return expr if got == pl.Boolean else None
    if want == pl.String:
        return expr.cast(pl.String)
    if want.is_numeric() and got.is_numeric():
        return expr.cast(want, strict=False)
    return None


def _joined_list(expr: pl.Expr, got: pl.DataType) -> pl.Expr | None:
    """A list column as its values joined by LIST_SEPARATOR (text stays as it is)."""
    if isinstance(got, pl.List):
        return expr.list.eval(pl.element().cast(pl.String)).list.join(LIST_SEPARATOR)
    return expr if got == pl.String else None


def _to_timestamp(expr: pl.Expr, got: pl.DataType) -> pl.Expr | None:
    """Datetimes in UTC, microseconds (naive ones taken as UTC); dates at midnight UTC."""
    if isinstance(got, pl.Datetime):
        zoned = expr if got.time_zone else expr.dt.replace_time_zone("UTC")
        return zoned.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    if got == pl.Date:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return None


def _to_date(expr: pl.Expr, got: pl.DataType) -> pl.Expr | None:
    if got == pl.Date:
        return expr
    return expr.dt.date() if isinstance(got, pl.Datetime) else None


def _parse_text(expr: pl.Expr, want: pl.DataType) -> pl.Expr:
    """Parse CSV text leniently: unreadable values become null (and are flagged)."""
    text = expr.str.strip_chars()
    if want == TIMESTAMP:
        iso = text.str.replace(" ", "T").str.replace(r"Z$", "+00:00")
        iso = pl.when(iso.str.len_chars() == 10).then(iso + "T00:00:00").otherwise(iso)
        zoned = iso.str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%#z", time_unit="us", time_zone="UTC", strict=False
        )
        naive = iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False)
        return pl.coalesce(zoned, naive.dt.replace_time_zone("UTC"))
    if want == pl.Date:
        return text.str.to_date("%Y-%m-%d", strict=False)
    if want == pl.Boolean:
        low = text.str.to_lowercase()
        return (
            pl.when(low.is_in(["true", "1", "yes"]))
            .then(True)
            .when(low.is_in(["false", "0", "no"]))
            .then(False)
        )
    return text.cast(want, strict=False)


def conform_checked(check: pl.LazyFrame, spec: TableSpec, extra: list[str]) -> pl.LazyFrame:
    """Turn validated check columns into the schema's types (enums, lists); extra columns
    follow unchanged."""
    exprs = []
    for column, want in spec.schema.items():
        c = pl.col(column)
        if isinstance(want, pl.List):
            c = (
                pl.when(c.str.len_chars() > 0)
                .then(c.str.split(LIST_SEPARATOR))
                .otherwise(pl.lit([], dtype=pl.List(pl.String)))
            )
        exprs.append(c.cast(want).alias(column))
    return check.select(*exprs, *extra)
