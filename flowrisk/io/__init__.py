"""Reading and writing dataset folders: one Parquet file per table (CSV accepted on import).

Readers return frames that conform to :mod:`flowrisk.schema`: columns in schema order, optional
columns filled with nulls, types cast. Writers are deterministic: the same frames give the same
bytes, which is what makes generated worlds reproducible file by file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from flowrisk.errors import (
    DatasetCorrupted,
    DatasetError,
    DatasetNotFound,
    InvalidParameter,
    SchemaMismatch,
)
from flowrisk.io.atomic import (
    check_replaceable,
    replace_file_atomically,
    replace_folder_atomically,
)
from flowrisk.schema import REQUIRED_TABLES, TABLES, TIMESTAMP, TableSpec

__all__ = [
    "MANIFEST_NAME",
    "ParquetSink",
    "TableWriter",
    "check_replaceable",
    "conform",
    "dataset_digest",
    "dataset_label",
    "derived_manifest",
    "file_sha256",
    "first_line",
    "manifest_digest",
    "read_dataset",
    "read_labelled",
    "read_manifest",
    "read_table",
    "reading",
    "replace_file_atomically",
    "replace_folder_atomically",
    "table_path",
    "verify_files",
    "write_manifest",
    "write_table",
]

MANIFEST_NAME = "manifest.json"
LIST_SEPARATOR = "|"
_PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3}
_HASH_BLOCK = 1 << 22
_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> SHA-256, per process


def table_path(folder: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``folder`` (Parquet preferred over CSV), or None."""
    for suffix in (".parquet", ".csv"):
        candidate = folder / f"{table}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def conform(frame: pl.LazyFrame, spec: TableSpec, source: str) -> pl.LazyFrame:
    """Select ``spec``'s columns in order, add missing optional ones as nulls and cast types.

    Raises :class:`SchemaMismatch` naming the column when a required column is missing.
    """
    present = frame.collect_schema()
    exprs: list[pl.Expr] = []
    for column, dtype in spec.schema.items():
        if column not in present:
            if column in spec.required_columns:
                raise SchemaMismatch(spec.name, column, f"required column missing in {source}")
            exprs.append(pl.lit(None, dtype=dtype).alias(column))
            continue
        exprs.append(_cast(pl.col(column), present[column], dtype).alias(column))
    return frame.select(exprs)


def _cast(expr: pl.Expr, have: pl.DataType, want: pl.DataType) -> pl.Expr:
    """Cast one column, parsing the text forms CSV files carry (lists, timestamps, dates)."""
    if have == want:
        return expr
    if have == pl.String and isinstance(want, pl.List):
        return (
            pl.when(expr.str.len_chars() > 0)
            .then(expr.str.split(LIST_SEPARATOR))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
            .cast(want, strict=True)
        )
    if have == pl.String and want == TIMESTAMP:
        return expr.str.to_datetime(time_unit="us", time_zone="UTC", strict=True)
    if have == pl.String and want == pl.Boolean:
        lowered = expr.str.to_lowercase().str.strip_chars()
        return (
            pl.when(lowered.is_in(["true", "1", "yes"]))
            .then(True)
            .when(lowered.is_in(["false", "0", "no"]))
            .then(False)
            .when(lowered.is_null() | (lowered == ""))
            .then(None)
            .otherwise(expr.cast(pl.Boolean, strict=True))
        )
    if have == pl.String and want == pl.Date:
        return expr.str.to_date(strict=True)
    if isinstance(have, pl.Datetime) and want == TIMESTAMP:
        if have.time_zone is None:
            return expr.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return expr.cast(want, strict=True)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def reading(source: str) -> Iterator[None]:
    """Turn a Polars or Arrow error raised while ``source`` is read or first collected into one
    :class:`DatasetError` line naming it and the problem (a damaged page often shows only then)."""
    try:
        yield
    except DatasetError:
        raise
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as exc:
        raise DatasetError(f"{source}: cannot be read ({first_line(exc)})") from exc


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, hashed in blocks and computed once per process for the same path,
    size and modification time."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while block := fh.read(_HASH_BLOCK):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def manifest_digest(folder: Path) -> str | None:
    """SHA-256 of a dataset's manifest (which lists every file's own digest), if it has one."""
    manifest = folder / MANIFEST_NAME
    return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None


def _manifest_entry(folder: Path, key: str) -> Any:
    """One top-level entry of a dataset's manifest (None without a manifest or the entry); a
    manifest that cannot be read is a :class:`DatasetError` naming it."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get(key)
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        raise DatasetError(f"{path}: cannot be read ({first_line(exc)})") from None


def _table_files(folder: Path) -> list[Path]:
    """The table files a dataset folder holds, sorted."""
    return sorted(p for t in TABLES if (p := table_path(folder, t)) is not None)


def _source_of(folder: Path) -> dict[str, Any]:
    """The ``validated_from`` record of a validated copy's manifest (empty for other data)."""
    record = _manifest_entry(folder, "validated_from")
    return record if isinstance(record, dict) else {}


def dataset_digest(folder: Path) -> str:
    """What identifies a dataset's data, so two trainings can tell whether they saw the same
    rows: for a validated copy holding all of its source's rows, the source's digest (the copy
    is the same data in other files); otherwise the SHA-256 of the manifest (which lists every
    file's digest), or, without a manifest, of its table files' names and digests."""
    folder = Path(folder)
    source = _source_of(folder)
    if source.get("same_data") and isinstance(source.get("digest"), str):
        return str(source["digest"])
    if (digest := manifest_digest(folder)) is not None:
        return digest
    listing = "".join(f"{p.name}\t{file_sha256(p)}\n" for p in _table_files(folder))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def dataset_label(folder: Path) -> str:
    """A short name of a dataset for run names: its folder's, or its source's for a validated
    copy (``world (validated)``)."""
    folder = Path(folder)
    source = _source_of(folder).get("dataset")
    name = folder.resolve().name
    return f"{Path(source).name} (validated)" if isinstance(source, str) and source else name


def derived_manifest(
    source: Path, copy: Path, *, same_data: bool, rows: Mapping[str, int]
) -> dict[str, Any]:
    """The manifest of ``copy``, a validated copy of ``source``: the digests of its own files
    (so that reading it verifies them), its row counts, the source's period, and where it came
    from (``same_data``: every row of the source was accepted, so the copy's
    :func:`dataset_digest` is the source's)."""
    period = None
    if (source / MANIFEST_NAME).is_file():
        period = read_manifest(source).get("period")
    return {
        "validated_from": {
            "dataset": str(source.resolve()),
            "digest": dataset_digest(source),
            "same_data": same_data,
        },
        **({"period": period} if period is not None else {}),
        "rows": dict(sorted(rows.items())),
        "sha256": {p.name: file_sha256(p) for p in _table_files(copy)},
    }


def _manifest_digests(folder: Path) -> dict[str, str]:
    """The manifest's ``sha256`` map (file name -> digest); empty without a manifest."""
    digests = _manifest_entry(folder, "sha256") or {}
    if not isinstance(digests, dict):
        raise DatasetError(f"{folder / MANIFEST_NAME}: sha256 is not a map of file name to digest")
    return {str(k): str(v) for k, v in digests.items()}


def verify_files(folder: Path, paths: Iterable[Path]) -> None:
    """Check each of ``paths`` the manifest of ``folder`` lists against its SHA-256; raise
    :class:`DatasetCorrupted` naming the first that differs. Unlisted files pass."""
    digests = _manifest_digests(folder)
    for path in paths:
        expected = digests.get(path.name)
        if expected is None:
            continue
        with reading(path.name):
            actual = file_sha256(path)
        if actual != expected.lower():
            raise DatasetCorrupted(str(path), expected, actual)


def read_table(path: Path, spec: TableSpec) -> pl.LazyFrame:
    """Scan one table file lazily and conform it to ``spec``."""
    with reading(path.name):
        if path.suffix == ".csv":
            frame = pl.scan_csv(path, infer_schema=False, encoding="utf8")
        else:
            frame = pl.scan_parquet(path)
        return conform(frame, spec, path.name)


def read_dataset(
    folder: Path | str, tables: Iterable[str] | None = None, *, verify: bool = True
) -> dict[str, pl.LazyFrame]:
    """Lazily read the tables of a dataset folder that exist (all required ones must).

    ``tables`` limits the read to those names; ground-truth tables are read only when asked.
    With ``verify``, each file the manifest lists is checked against its SHA-256 first.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetNotFound(f"{folder}: dataset folder does not exist")
    wanted = list(tables) if tables is not None else [t for t in TABLES if "label" not in t]
    paths: dict[str, Path] = {}
    for name in wanted:
        if name not in TABLES:
            raise DatasetError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        path = table_path(folder, name)
        if path is None:
            if name in REQUIRED_TABLES:
                raise DatasetNotFound(f"{folder / (name + '.parquet')}: required table missing")
            continue
        paths[name] = path
    if verify:
        verify_files(folder, paths.values())
    return {name: read_table(path, TABLES[name]) for name, path in paths.items()}


def read_labelled(
    folder: Path | str, purpose: str, *, verify: bool = True
) -> tuple[dict[str, pl.LazyFrame], pl.DataFrame, pl.DataFrame | None]:
    """The input tables of a labelled dataset (lazy), its entity labels and its transaction
    labels (None when absent); refused without labels, saying what ``purpose`` needs them."""
    tables = read_dataset(folder, tables=list(TABLES), verify=verify)
    if "labels" not in tables:
        raise InvalidParameter("labels", f"{folder} has no labels.parquet: {purpose} needs them")
    with reading(f"labels of {folder}"):
        labels = tables.pop("labels").collect()
        per_txn = tables.pop("transaction_labels", None)
        per_txn_rows = per_txn.collect() if per_txn is not None else None
    return tables, labels, per_txn_rows


def write_table(frame: pl.DataFrame, folder: Path, table: str) -> Path:
    """Write one whole table as ``folder/table.parquet`` in schema order."""
    with TableWriter(folder, table) as writer:
        writer.write(frame)
    return writer.path


class ParquetSink:
    """Append frames to one Parquet file with a fixed schema, one row group per write, in bounded
    memory; output bytes depend only on the frames written."""

    def __init__(self, path: Path, schema: pl.Schema) -> None:
        self.path = Path(path)
        self.schema = schema
        self.rows = 0
        self._arrow_schema = schema.to_frame().to_arrow().schema
        self._writer: pq.ParquetWriter | None = None

    def _open(self) -> pq.ParquetWriter:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, self._arrow_schema, **_PARQUET_OPTIONS)
        return self._writer

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (cast to the schema) as one row group."""
        frame = frame.select(pl.col(c).cast(t, strict=True) for c, t in self.schema.items())
        table = frame.to_arrow().cast(self._arrow_schema)
        self._open().write_table(table, row_group_size=max(len(table), 1))
        self.rows += frame.height

    def close(self) -> None:
        """Finish the file; a sink that received no rows is written empty."""
        if self._writer is None:
            self._open().write_table(self.schema.to_frame().to_arrow().cast(self._arrow_schema))
        assert self._writer is not None
        self._writer.close()

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TableWriter(ParquetSink):
    """Stream one table of the data model to ``folder/<table>.parquet`` (the generator writes
    worlds far larger than memory this way)."""

    def __init__(self, folder: Path, table: str) -> None:
        self.spec = TABLES[table]
        super().__init__(Path(folder) / f"{table}.parquet", self.spec.empty().schema)


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` with sorted keys so that equal manifests give equal bytes."""
    path = Path(folder) / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path | str) -> dict[str, Any]:
    """Read a dataset's ``manifest.json``."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise DatasetNotFound(f"{path}: no manifest")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result
