"""IBM AMLSim outputs (``nodes.csv``: ``nodeid,isFraud,init_balance,fraudStep``;
``transactions.csv``: ``sourceNodeId,targetNodeId,value,time``) as a flowrisk dataset.

Mapping: each account node is one person entity holding one current account; each transfer is a
``wire`` transaction dated ``start + time`` days (at noon UTC); ``value`` is taken as EUR;
``isFraud`` is the entity label with ``label_date = start + fraudStep`` days (the node's first
transaction when it has no fraud step) and typology
``mule`` (AMLSim's fan-in groups collect money from many accounts). AMLSim has no geography:
every entity and account gets ``country`` (a placeholder, so geography features are constant).
"""

from __future__ import annotations

import tarfile
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from flowrisk.errors import DatasetError, DatasetNotFound

__all__ = ["TYPOLOGY", "amlsim_tables"]

TYPOLOGY = "mule"  # the typology (of flowrisk.schema.TYPOLOGIES) of fraud nodes
ENTITY = pl.format("A{}", pl.col("nodeid"))  # a node's entity id

NODES = {"nodeid": pl.Int64, "isFraud": pl.Int8, "init_balance": pl.Float64, "fraudStep": pl.Int64}
EDGES = {"sourceNodeId": pl.Int64, "targetNodeId": pl.Int64, "value": pl.Float64, "time": pl.Int64}


def _find(source: Path, workdir: Path) -> Path:
    """The folder holding nodes.csv and transactions.csv (extracting a .tgz safely first)."""
    if not source.exists():
        raise DatasetNotFound(f"{source}: no such file or folder")
    if source.is_file():
        try:
            with tarfile.open(source) as archive:
                archive.extractall(workdir, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise DatasetError(f"{source}: not a readable tar archive ({exc})") from exc
        source = workdir
    hits = sorted(
        p.parent for p in source.rglob("nodes.csv") if (p.parent / "transactions.csv").is_file()
    )
    if not hits:
        raise DatasetNotFound(f"{source}: no folder with both nodes.csv and transactions.csv")
    return hits[0]


def _read(path: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DatasetError(f"{path.name}: cannot be read ({exc})") from exc
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path.name}: missing column {missing[0]}")
    # unreadable values become nulls here and are quarantined by the contracts, never dropped
    return frame.select(
        pl.col(c).str.strip_chars().cast(t, strict=False) for c, t in schema.items()
    )


def _transactions(edges: pl.DataFrame, origin: datetime) -> pl.DataFrame:
    """Each transfer as a ``wire`` in EUR, ``time`` days after ``origin``."""
    return edges.with_row_index("txn_id").select(
        pl.col("txn_id").cast(pl.Int64),
        (pl.lit(origin) + pl.duration(days=pl.col("time"))).alias("ts"),
        pl.format("ACC{}", pl.col("sourceNodeId")).alias("src_account_id"),
        pl.format("ACC{}", pl.col("targetNodeId")).alias("dst_account_id"),
        pl.col("value").alias("amount"),
        pl.lit("wire").alias("channel"),
        pl.lit("EUR").alias("currency_original"),
    )


def _labels(nodes: pl.DataFrame, edges: pl.DataFrame, start: date) -> pl.DataFrame:
    """``isFraud`` as the label, dated ``start + fraudStep`` days, or by the node's first
    transaction when it has no fraud step (half of them in the public sample)."""
    first = (
        pl.concat(
            [
                edges.select(pl.col("sourceNodeId").alias("nodeid"), "time"),
                edges.select(pl.col("targetNodeId").alias("nodeid"), "time"),
            ]
        )
        .group_by("nodeid")
        .agg(pl.col("time").min().alias("first_step"))
    )
    step = (
        pl.when(pl.col("fraudStep") >= 0)
        .then(pl.col("fraudStep"))
        .otherwise(pl.col("first_step").fill_null(0))
    )
    fraud = pl.col("isFraud") == 1
    return nodes.join(first, on="nodeid", how="left", maintain_order="left").select(
        ENTITY.alias("entity_id"),
        pl.col("isFraud").alias("label"),
        pl.when(fraud).then(pl.lit(TYPOLOGY)).alias("typology"),
        pl.when(fraud).then(pl.lit([TYPOLOGY])).otherwise(pl.lit([])).alias("typologies"),
        pl.when(fraud).then(pl.lit(start) + pl.duration(days=step)).alias("label_date"),
    )


def amlsim_tables(
    source: Path, *, start: date = date(2025, 1, 1), country: str = "FR"
) -> dict[str, pl.DataFrame]:
    """The dataset tables of an AMLSim output folder or ``.tgz``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = _find(Path(source), Path(tmp))
        nodes = _read(folder / "nodes.csv", NODES)  # type: ignore[arg-type]
        edges = _read(folder / "transactions.csv", EDGES)  # type: ignore[arg-type]
    origin = datetime(start.year, start.month, start.day, 12, tzinfo=UTC)
    entities = nodes.select(
        ENTITY.alias("entity_id"),
        pl.lit("person").alias("entity_type"),
        pl.lit(country).alias("country"),
    )
    accounts = nodes.select(
        pl.format("ACC{}", pl.col("nodeid")).alias("account_id"),
        ENTITY.alias("entity_id"),
        pl.lit("current").alias("account_type"),
        pl.lit(country).alias("country"),
        pl.lit(start).alias("opened_at"),
    )
    return {
        "entities": entities,
        "accounts": accounts,
        "transactions": _transactions(edges, origin),
        "labels": _labels(nodes, edges, start),
    }
