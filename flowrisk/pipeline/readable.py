"""Tracing an error met while a service works on a dataset's frames back to the file that
cannot be decoded (a damaged page often shows only when its rows are first collected)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from flowrisk.errors import DatasetError
from flowrisk.io import first_line, table_path
from flowrisk.schema import TABLES

__all__ = ["reading_dataset"]


@contextmanager
def reading_dataset(folder: Path | str) -> Iterator[None]:
    """Turn a Polars or Arrow error into one :class:`DatasetError` line naming the first table
    file of ``folder`` that cannot be decoded, and the problem; an error no file explains is
    raised as it was."""
    try:
        yield
    except (pl.exceptions.PolarsError, pa.ArrowException) as exc:
        for name in TABLES:
            path = table_path(Path(folder), name)
            if path is not None and (problem := _undecodable(path)) is not None:
                raise DatasetError(f"{path.name}: cannot be read ({problem})") from exc
        raise


def _undecodable(path: Path) -> str | None:
    """The first line of the error that decoding every page of ``path`` raises, or None."""
    try:
        if path.suffix == ".csv":
            pl.scan_csv(path, infer_schema=False).select(pl.all().str.len_bytes().sum()).collect()
        else:
            for _ in pq.ParquetFile(path).iter_batches(batch_size=1 << 16):
                pass
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as exc:
        return first_line(exc)
    return None
