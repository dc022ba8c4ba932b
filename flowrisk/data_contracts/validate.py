"""Validating a dataset folder: every row of every table checked, rejected rows kept with reasons.

Tables are validated in dependency order (entities, accounts, transactions, then the tables that
point to entities), so that a reference is checked against the rows *accepted* upstream: a
transaction whose account was rejected is rejected too, with ``<table>.<column>.exists``.
Row rules run chunk by chunk (Great Expectations, or the same rules in Polars); dataset rules
(unique keys, references, parse failures, mixed time zones) run lazily in Polars. Counts always
balance: rows in = rows accepted + rows quarantined, per table.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import polars as pl

from flowrisk.data_contracts.prepare import ROW, Prepared, conform_checked, prepare
from flowrisk.data_contracts.rules import (
    CONTRACT_VERSION,
    ContractContext,
    Rule,
    contract,
    violation,
)
from flowrisk.errors import DatasetError, DatasetNotFound, InvalidParameter
from flowrisk.io import (
    MANIFEST_NAME,
    check_replaceable,
    derived_manifest,
    reading,
    replace_folder_atomically,
    table_path,
    verify_files,
    write_manifest,
)
from flowrisk.io.cluster import in_order, on_cluster
from flowrisk.schema import REQUIRED_TABLES, TABLES

__all__ = [
    "TableReport",
    "ValidationReport",
    "chunk_violations",
    "context_for",
    "validate_dataset",
]

Engine = Literal["gx", "polars"]
ORDER = (
    "entities",
    "accounts",
    "transactions",
    "assets",
    "ownership",
    "reports",
    "labels",
    "transaction_labels",
)
RULES = "_rules"
# tables other tables point to, and the key columns they point at
REFERENCED = ("entities", "accounts", "transactions")
REFERENCED_KEYS = ("entity_id", "account_id", "txn_id")
Progress = Callable[[str, int, int], None]


@dataclass
class TableReport:
    """What happened to one table."""

    table: str
    source: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rules: dict[str, int] = field(default_factory=dict)  # rule -> rows breaking it
    extra_columns: list[str] = field(default_factory=list)


@dataclass
class ValidationReport:
    """The outcome of validating one dataset folder."""

    dataset: str
    engine: str
    contract_version: str
    validated_at: str
    period: dict[str, str | None]
    tables: dict[str, TableReport]

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables.values())

    @property
    def clean(self) -> bool:
        return self.rows_quarantined == 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_quarantined"] = self.rows_quarantined
        out["clean"] = self.clean
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def context_for(folder: Path, now: datetime | None = None) -> ContractContext:
    """Rules' context: the period from the dataset's manifest when it has one, and now."""
    now = now or datetime.now(UTC)
    manifest = folder / MANIFEST_NAME
    if manifest.is_file():
        period = json.loads(manifest.read_text(encoding="utf-8")).get("period") or {}
        if period.get("start") and period.get("end"):
            start = datetime.fromisoformat(period["start"]).replace(tzinfo=UTC)
            end = datetime.fromisoformat(period["end"]).replace(tzinfo=UTC)
            return ContractContext(
                now=now,
                period_start=start,
                period_end=end.replace(hour=23, minute=59, second=59, microsecond=999_999),
            )
    return ContractContext(now=now)


def _check_arguments(folder: Path, engine: str, chunk_rows: int) -> None:
    if engine not in ("gx", "polars"):
        raise InvalidParameter("engine", f"must be gx or polars, got {engine!r}")
    if chunk_rows < 1:
        raise InvalidParameter("chunk_rows", "must be positive")
    if not folder.is_dir():
        raise DatasetNotFound(f"{folder}: dataset folder does not exist")


def _table_paths(folder: Path) -> dict[str, Path]:
    """Every table file present in ``folder``, in dependency order; the required ones must be."""
    paths = {t: table_path(folder, t) for t in ORDER}
    for t in REQUIRED_TABLES:
        if paths[t] is None:
            raise DatasetNotFound(f"{folder / (t + '.parquet')}: required table missing")
    return {t: p for t, p in paths.items() if p is not None}


def _prepared(path: Path, table: str) -> Prepared:
    """``path`` prepared as ``table``, once per process for the same file (a CSV is read
    through once to check its encoding: chunks of it must not each read it again)."""
    stat = path.stat()
    return _prepared_file(str(path.resolve()), stat.st_size, stat.st_mtime_ns, table)


@lru_cache(maxsize=16)
def _prepared_file(path: str, size: int, mtime_ns: int, table: str) -> Prepared:
    return prepare(Path(path), TABLES[table])


_GX_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _gx_runner(ctx: ContractContext) -> Any:
    """One GX context per process and validation (its suites hold rules built from ``ctx``)."""
    from flowrisk.data_contracts.suites import GxRunner

    return GxRunner()


def chunk_violations(
    path: str, table: str, offset: int, rows: int, engine: Engine, ctx: ContractContext
) -> pl.DataFrame:
    """(row, rule) pairs breaking the row rules in rows ``[offset, offset + rows)`` of one table
    file: the unit of work of validation, run here or on a Dask worker (which reads the file
    itself, so it must see it under the same path)."""
    prep = _prepared(Path(path), table)
    with reading(prep.source):
        chunk = prep.check.slice(offset, rows).collect()
    if engine == "gx":
        with _GX_LOCK:  # one GX context per process: a worker's threads take turns
            return _gx_runner(ctx).violations(table, contract(table, ctx), chunk)
    return _polars_violations(chunk, [r for r in contract(table, ctx) if r.row_rule])


@dataclass
class _Run:
    """What the tables of one validation share: context, engine, the keys accepted so far."""

    ctx: ContractContext
    engine: Engine
    chunk_rows: int
    progress: Progress | None
    out: Path | None  # every write is held until all tables are checked, then done at once
    accepted_keys: dict[tuple[str, str], pl.Series] = field(default_factory=dict)
    pending: list[tuple[Prepared, pl.LazyFrame, pl.DataFrame]] = field(default_factory=list)


def _validate_table(
    run: _Run, table: str, prep: Prepared, n: int, chunks: Iterator[pl.DataFrame]
) -> TableReport:
    """Check one table of ``n`` rows (``chunks``: its row-rule violations, chunk by chunk),
    remember its accepted keys for the tables pointing to it, and write its accepted and
    quarantined rows when asked."""
    rules = contract(table, run.ctx)
    bad = _violations(run, prep, rules, n, chunks)
    per_row = bad.group_by(ROW).agg(pl.col("rule").unique().sort().alias(RULES))
    accepted = prep.check.join(per_row.lazy(), on=ROW, how="anti", maintain_order="left")
    if table in REFERENCED:
        for column in TABLES[table].key:
            if column in REFERENCED_KEYS:
                keys = accepted.select(column).collect(engine="streaming").to_series()
                run.accepted_keys[(table, column)] = keys
    if run.out is not None:
        run.pending.append((prep, accepted, per_row))
    return TableReport(
        table=table,
        source=prep.source,
        rows_in=n,
        rows_accepted=n - per_row.height,
        rows_quarantined=per_row.height,
        rules=dict(sorted(bad.group_by("rule").len().iter_rows())),
        extra_columns=prep.extra_columns,
    )


def validate_dataset(
    folder: Path | str,
    *,
    quarantine: Path | str | None = None,
    engine: Engine = "gx",
    chunk_rows: int = 500_000,
    now: datetime | None = None,
    progress: Progress | None = None,
    quarantine_when: Literal["always", "dirty"] = "always",
    verify: bool = True,
    scheduler: str | None = None,
) -> ValidationReport:
    """Validate every table of ``folder``; with ``quarantine``, write ``accepted/`` and
    ``quarantine/`` datasets there (rejected rows keep their columns plus ``_rules``; the
    accepted copy has a manifest of its files' digests that names its source and, when every
    row was accepted, carries the source's dataset digest: the same data) — with
    ``quarantine_when="dirty"`` only if some row was rejected, so clean data is read once and
    never copied. The quarantine folder is replaced as one unit once all of it is written: a
    validation that fails or is interrupted leaves the previous one as it was. With
    ``scheduler`` (a Dask scheduler address) the row rules run chunk by chunk on its workers,
    which read the tables under the same path; the report and files are the same.

    Raises :class:`DatasetError` when the dataset cannot be read at all (missing required
    table, unreadable file, missing required column, a column of the wrong type), and, with
    ``verify``, :class:`DatasetCorrupted` when a file differs from its manifest's SHA-256.
    """
    folder = Path(folder)
    _check_arguments(folder, engine, chunk_rows)
    if verify:
        verify_files(folder, [p for t in ORDER if (p := table_path(folder, t)) is not None])
    ctx = context_for(folder, now)
    paths = _table_paths(folder)
    prepared = {t: _prepared(p, t) for t, p in paths.items()}
    sizes = {t: _rows(t, prep) for t, prep in prepared.items()}
    out = Path(quarantine) if quarantine is not None else None
    if out is not None:
        check_replaceable(out, "report.json", "a flowrisk quarantine")
    run = _Run(ctx, engine, chunk_rows, progress, out)
    calls = [
        (str(paths[t].resolve()), t, offset, chunk_rows, engine, ctx)
        for t, n in sizes.items()
        for offset in range(0, n, chunk_rows)
    ]
    with (
        on_cluster(scheduler) as client,
        closing(in_order(chunk_violations, calls, client)) as chunks,
    ):
        reports = {
            t: _checked(run, t, prep, sizes[t], islice(chunks, -(-sizes[t] // chunk_rows)))
            for t, prep in prepared.items()
        }
    report = ValidationReport(
        dataset=str(folder),
        engine=engine,
        contract_version=CONTRACT_VERSION,
        validated_at=ctx.now.isoformat(),
        period={
            "start": ctx.period_start.isoformat() if ctx.period_start else None,
            "end": ctx.period_end.isoformat() if ctx.period_end else None,
        },
        tables=reports,
    )
    if out is not None and not (quarantine_when == "dirty" and report.clean):
        with replace_folder_atomically(out) as staged:
            for pending in run.pending:
                _write(staged, *pending)
            rows = {t: r.rows_accepted for t, r in reports.items()}
            copy = derived_manifest(folder, staged / "accepted", same_data=report.clean, rows=rows)
            write_manifest(staged / "accepted", copy)
            (staged / "report.json").write_text(report.to_json() + "\n", encoding="utf-8")
    return report


def _rows(table: str, prep: Prepared) -> int:
    """Rows of one table; a required table must have some."""
    with reading(prep.source):
        n: int = prep.check.select(pl.len()).collect().item()
    if n == 0 and table in REQUIRED_TABLES:
        raise DatasetError(f"{prep.source}: required table has no rows")
    return n


def _checked(
    run: _Run, table: str, prep: Prepared, n: int, chunks: Iterator[pl.DataFrame]
) -> TableReport:
    """One table validated, a page of its file that cannot be decoded (seen only once its rows
    are collected) reported as one error naming the file."""
    with reading(prep.source):
        report = _validate_table(run, table, prep, n, chunks)
    return report


def _row_violations(
    run: _Run, table: str, n: int, chunks: Iterator[pl.DataFrame]
) -> list[pl.DataFrame]:
    """The row-rule violations of each chunk as they come, with progress."""
    parts: list[pl.DataFrame] = []
    for done, part in enumerate(chunks, 1):
        parts.append(part)
        if run.progress is not None:
            run.progress(table, min(done * run.chunk_rows, n), n)
    return parts


def _flagged(run: _Run, prep: Prepared, rule: Rule) -> pl.LazyFrame | None:
    """Rows breaking one dataset rule; None when the rule does not apply to this file."""
    check = prep.check
    if rule.kind == "parse" and rule.column in prep.parse_flags:
        return check.filter(pl.col(prep.parse_flags[rule.column]))
    if rule.kind == "timezone" and rule.column in prep.naive_flags:
        return check.filter(pl.col(prep.naive_flags[rule.column]))
    if rule.kind == "endpoints":
        return check.filter(pl.col("src_account_id").is_null() & pl.col("dst_account_id").is_null())
    if rule.kind == "unique":
        key = rule.params["key"]
        return check.filter(
            pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key)
        )
    if rule.kind == "reference":
        known = run.accepted_keys.get((rule.params["target"], rule.params["target_column"]))
        if known is None:
            return None  # the referenced table is optional and absent
        col = pl.col(rule.column)
        return check.filter(col.is_not_null() & ~col.is_in(known.implode()))
    return None


def _violations(
    run: _Run, prep: Prepared, rules: list[Rule], n: int, chunks: Iterator[pl.DataFrame]
) -> pl.DataFrame:
    """All (row, rule) pairs that break a rule of this table."""
    parts = _row_violations(run, prep.spec.name, n, chunks)
    lazy_parts = [
        flagged.select(ROW, pl.lit(rule.name).alias("rule"))
        for rule in rules
        if (flagged := _flagged(run, prep, rule)) is not None
    ]
    if lazy_parts:
        parts.append(pl.concat(pl.collect_all(lazy_parts, engine="streaming")))
    if not parts:
        return pl.DataFrame(schema={ROW: pl.Int64, "rule": pl.String})
    found = pl.concat([p.select(pl.col(ROW).cast(pl.Int64), "rule") for p in parts])
    # an unreadable value is reported as such, not also as a missing one
    unreadable = found.filter(pl.col("rule").str.ends_with(".type")).select(
        ROW, pl.col("rule").str.replace(r"\.type$", ".not_null")
    )
    return found.join(unreadable, on=[ROW, "rule"], how="anti")


def _polars_violations(chunk: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """The row rules evaluated as Polars expressions: same answers as the GX suite."""
    if not rules:
        return pl.DataFrame(schema={ROW: pl.Int64, "rule": pl.String})
    flags = chunk.select(ROW, *[violation(r).fill_null(False).alias(r.name) for r in rules])
    return (
        flags.unpivot(index=ROW, variable_name="rule", value_name="bad")
        .filter(pl.col("bad"))
        .select(ROW, "rule")
    )


def _write(out: Path, prep: Prepared, accepted: pl.LazyFrame, per_row: pl.DataFrame) -> None:
    """Accepted rows in schema types; rejected rows as read, with ROW and their rules."""
    table = prep.spec.name
    for sub in ("accepted", "quarantine"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    conform_checked(accepted, prep.spec, prep.extra_columns).sink_parquet(
        out / "accepted" / f"{table}.parquet", engine="streaming"
    )
    rejected = prep.raw.join(per_row.lazy(), on=ROW, how="inner").sort(ROW)
    rejected.sink_parquet(out / "quarantine" / f"{table}.parquet", engine="streaming")
