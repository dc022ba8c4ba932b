"""A corpus of bad inputs: each is a corrupted copy of a clean generated world.

Every case asserts the exit code of `flowrisk validate`, the exact rules reported (and how many
rows broke each), that `rows_in == rows_accepted + rows_quarantined` for every table, and that
the Polars engine reports exactly what the Great Expectations suites report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from flowrisk.data_contracts import validate_dataset

from .conftest import run_validate

Mutation = Callable[[Path], None]


def _edit(table: str, change: Callable[[pl.DataFrame], pl.DataFrame]) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / f"{table}.parquet"
        change(pl.read_parquet(path)).write_parquet(path)

    return mutate


def _set(
    table: str,
    column: str,
    value: Any,
    rows: tuple[int, ...] = (5,),
    dtype: pl.DataType | None = None,
) -> Mutation:
    """Put ``value`` in ``column`` at ``rows`` (enum and list columns become text first)."""

    def change(df: pl.DataFrame) -> pl.DataFrame:
        current = df.schema[column]
        if isinstance(current, pl.Enum):
            df = df.with_columns(pl.col(column).cast(pl.String))
        if isinstance(current, pl.List):
            df = df.with_columns(pl.col(column).cast(pl.List(pl.String)))
        target = dtype or df.schema[column]
        hit = pl.int_range(pl.len()).is_in(list(rows))
        return df.with_columns(
            pl.when(hit).then(pl.lit(value, dtype=target)).otherwise(pl.col(column)).alias(column)
        )

    return _edit(table, change)


def _duplicate(table: str, column: str, source: int = 3, target: int = 7) -> Mutation:
    def change(df: pl.DataFrame) -> pl.DataFrame:
        value = df[column][source]
        hit = pl.int_range(pl.len()) == target
        return df.with_columns(
            pl.when(hit)
            .then(pl.lit(value, dtype=df.schema[column]))
            .otherwise(pl.col(column))
            .alias(column)
        )

    return _edit(table, change)


def _to_csv(
    table: str,
    change: Callable[[pl.DataFrame], pl.DataFrame] = lambda d: d,
    encoding: str = "utf-8",
) -> Mutation:
    """Replace a table's Parquet file by a CSV export, optionally edited as text first."""

    def mutate(folder: Path) -> None:
        df = pl.read_parquet(folder / f"{table}.parquet")
        (folder / f"{table}.parquet").unlink()
        text = df.with_columns(
            pl.col(c).cast(pl.List(pl.String)).list.join("|")
            for c, t in df.schema.items()
            if isinstance(t, pl.List)
        ).with_columns(pl.all().cast(pl.String))
        text = change(text)
        data = text.write_csv()
        (folder / f"{table}.csv").write_bytes(data.encode(encoding))

    return mutate


def _text(column: str, value: str, row: int = 5) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def change(df: pl.DataFrame) -> pl.DataFrame:
        hit = pl.int_range(pl.len()) == row
        return df.with_columns(
            pl.when(hit).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
        )

    return change


def _dangling_account_cascade(folder: Path) -> None:
    """An account with a bad country: it is rejected, so are its transactions."""
    accounts = pl.read_parquet(folder / "accounts.parquet")
    tx = pl.read_parquet(folder / "transactions.parquet")
    busy = (
        tx.group_by("src_account_id")
        .len()
        .sort("len", "src_account_id")
        .filter(pl.col("src_account_id").is_not_null())[-1, "src_account_id"]
    )
    accounts.with_columns(
        pl.when(pl.col("account_id") == busy)
        .then(pl.lit("ZZ"))
        .otherwise(pl.col("country"))
        .alias("country")
    ).write_parquet(folder / "accounts.parquet")


def _remove(name: str) -> Mutation:
    return lambda folder: (folder / name).unlink()


def _drop_column(table: str, column: str) -> Mutation:
    return _edit(table, lambda df: df.drop(column))


def _write_bytes(name: str, data: Callable[[bytes], bytes]) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / name
        path.write_bytes(data(path.read_bytes()))

    return mutate


def _header_only(table: str) -> Mutation:
    def mutate(folder: Path) -> None:
        df = pl.read_parquet(folder / f"{table}.parquet")
        (folder / f"{table}.parquet").unlink()
        (folder / f"{table}.csv").write_text(",".join(df.columns) + "\n")

    return mutate


BIG = "x" * 1_000_000
FUTURE = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Case:
    """One bad input and what validation must say about it."""

    id: str
    mutate: Mutation
    exit_code: int
    table: str = ""
    rules: dict[str, int] = field(default_factory=dict)  # exact rules of ``table``
    message: str = ""  # for exit code 2: part of the one-line error
    also: dict[str, set[str]] | None = None  # rules that must cascade to other tables


CASES = [
    # entities
    Case(
        "entity-null-id",
        _set("entities", "entity_id", None),
        1,
        "entities",
        {"entities.entity_id.not_null": 1},
    ),
    Case(
        "entity-duplicate-id",
        _duplicate("entities", "entity_id", 150, 151),
        1,
        "entities",
        {"entities.entity_id.unique": 2},
    ),
    Case(
        "entity-unknown-type",
        _set("entities", "entity_type", "trust"),
        1,
        "entities",
        {"entities.entity_type.known": 1},
    ),
    Case(
        "entity-country-alpha3",
        _set("entities", "country", "FRA"),
        1,
        "entities",
        {"entities.country.iso": 1},
    ),
    Case(
        "entity-country-null",
        _set("entities", "country", None),
        1,
        "entities",
        {"entities.country.not_null": 1},
    ),
    Case(
        "entity-birth-year",
        _set("entities", "birth_year", 1850, rows=(0,)),
        1,
        "entities",
        {"entities.birth_year.range": 1},
    ),
    Case(
        "entity-registered-in-future",
        _set("entities", "registration_date", date(2031, 5, 1), rows=(2,)),
        1,
        "entities",
        {"entities.registration_date.range": 1},
    ),
    Case(
        "entity-closed-before-registered",
        _edit(
            "entities",
            lambda df: df.with_columns(
                pl.when(
                    pl.col("registration_date").is_not_null()
                    & (
                        pl.int_range(pl.len())
                        == pl.arg_where(pl.col("registration_date").is_not_null()).first()
                    )
                )
                .then(pl.col("registration_date") - pl.duration(days=30))
                .otherwise(pl.col("closure_date"))
                .alias("closure_date")
            ),
        ),
        1,
        "entities",
        {"entities.closure_date.after_registration": 1},
    ),
    Case(
        "entity-bad-sector",
        _set("entities", "sector_code", "kebab"),
        1,
        "entities",
        {"entities.sector_code.naf": 1},
    ),
    Case(
        "entity-negative-income",
        _set("entities", "declared_income", -5.0, rows=(1,)),
        1,
        "entities",
        {"entities.declared_income.range": 1},
    ),
    Case(
        "entity-1mb-name", _set("entities", "name", BIG), 1, "entities", {"entities.name.length": 1}
    ),
    # accounts
    Case(
        "account-dangling-entity",
        _set("accounts", "entity_id", "E99999999"),
        1,
        "accounts",
        {"accounts.entity_id.exists": 1},
    ),
    Case(
        "account-duplicate-id",
        _duplicate("accounts", "account_id", 900, 901),
        1,
        "accounts",
        {"accounts.account_id.unique": 2},
        also={
            "transactions": {
                "transactions.src_account_id.exists",
                "transactions.dst_account_id.exists",
            }
        },
    ),
    Case(
        "account-unknown-type",
        _set("accounts", "account_type", "piggy_bank", rows=(900,)),
        1,
        "accounts",
        {"accounts.account_type.known": 1},
    ),
    Case(
        "account-unknown-risk-tag",
        _set("accounts", "risk_tags", ["mixer", "ponzi"], rows=(900,), dtype=pl.List(pl.String)),
        1,
        "accounts",
        {"accounts.risk_tags.known": 1},
    ),
    Case(
        "account-opened-in-future",
        _set("accounts", "opened_at", date(2040, 1, 1), rows=(900,)),
        1,
        "accounts",
        {"accounts.opened_at.range": 1},
    ),
    Case(
        "account-rejected-cascades",
        _dangling_account_cascade,
        1,
        "accounts",
        {"accounts.country.iso": 1},
        also={"transactions": {"transactions.src_account_id.exists"}},
    ),
    # transactions
    Case(
        "txn-null-id",
        _set("transactions", "txn_id", None),
        1,
        "transactions",
        {"transactions.txn_id.not_null": 1},
    ),
    Case(
        "txn-duplicate-id",
        _duplicate("transactions", "txn_id"),
        1,
        "transactions",
        {"transactions.txn_id.unique": 2},
    ),
    Case(
        "txn-negative-amount",
        _set("transactions", "amount", -10.0),
        1,
        "transactions",
        {"transactions.amount.range": 1},
    ),
    Case(
        "txn-zero-amount",
        _set("transactions", "amount", 0.0),
        1,
        "transactions",
        {"transactions.amount.range": 1},
    ),
    Case(
        "txn-nan-amount",
        _set("transactions", "amount", float("nan")),
        1,
        "transactions",
        {"transactions.amount.range": 1},
    ),
    Case(
        "txn-inf-amount",
        _set("transactions", "amount", float("inf")),
        1,
        "transactions",
        {"transactions.amount.range": 1},
    ),
    Case(
        "txn-huge-amount",
        _set("transactions", "amount", 5e9),
        1,
        "transactions",
        {"transactions.amount.range": 1},
    ),
    Case(
        "txn-null-amount",
        _set("transactions", "amount", None),
        1,
        "transactions",
        {"transactions.amount.not_null": 1},
    ),
    Case(
        "txn-future-timestamp",
        _set("transactions", "ts", FUTURE),
        1,
        "transactions",
        {"transactions.ts.range": 1},
    ),
    Case(
        "txn-pre-epoch-timestamp",
        _set("transactions", "ts", datetime(1969, 7, 20, tzinfo=UTC)),
        1,
        "transactions",
        {"transactions.ts.range": 1},
    ),
    Case(
        "txn-null-timestamp",
        _set("transactions", "ts", None),
        1,
        "transactions",
        {"transactions.ts.not_null": 1},
    ),
    Case(
        "txn-unknown-channel",
        _set("transactions", "channel", "carrier_pigeon"),
        1,
        "transactions",
        {"transactions.channel.known": 1},
    ),
    Case(
        "txn-dangling-account",
        _set("transactions", "dst_account_id", "A999999999"),
        1,
        "transactions",
        {"transactions.dst_account_id.exists": 1},
    ),
    Case(
        "txn-no-endpoint",
        _edit(
            "transactions",
            lambda df: df.with_columns(
                pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("src_account_id", "dst_account_id")
            ),
        ),
        1,
        "transactions",
        {"transactions.endpoints.present": 1},
    ),
    Case(
        "txn-bad-currency",
        _set("transactions", "currency_original", "euro"),
        1,
        "transactions",
        {"transactions.currency_original.code": 1},
    ),
    Case(
        "txn-1mb-account-id",
        _set("transactions", "src_account_id", BIG),
        1,
        "transactions",
        {"transactions.src_account_id.length": 1, "transactions.src_account_id.exists": 1},
    ),
    # other tables
    Case("asset-zero-value", _set("assets", "value", 0.0), 1, "assets", {"assets.value.range": 1}),
    Case(
        "asset-unknown-entity",
        _set("assets", "entity_id", "E77777777"),
        1,
        "assets",
        {"assets.entity_id.exists": 1},
    ),
    Case(
        "ownership-share-150",
        _set("ownership", "share_pct", 150.0, rows=(0,)),
        1,
        "ownership",
        {"ownership.share_pct.range": 1},
    ),
    Case(
        "ownership-duplicate-link",
        _edit("ownership", lambda df: pl.concat([df, df[:1]])),
        1,
        "ownership",
        {"ownership.owner_entity_id_owned_entity_id_role.unique": 2},
    ),
    Case(
        "report-in-future",
        _set("reports", "reported_at", FUTURE, rows=(0,)),
        1,
        "reports",
        {"reports.reported_at.range": 1},
    ),
    Case(
        "report-unknown-category",
        _set("reports", "category", "gossip", rows=(0,)),
        1,
        "reports",
        {"reports.category.known": 1},
    ),
    Case(
        "label-not-binary",
        _set("labels", "label", 2, rows=(3,)),
        1,
        "labels",
        {"labels.label.binary": 1},
    ),
    # CSV imports
    Case(
        "csv-unreadable-amount",
        _to_csv("transactions", _text("amount", "12,50 EUR")),
        1,
        "transactions",
        {"transactions.amount.type": 1},
    ),
    Case(
        "csv-unreadable-timestamp",
        _to_csv("transactions", _text("ts", "yesterday")),
        1,
        "transactions",
        {"transactions.ts.type": 1},
    ),
    Case(
        "csv-mixed-time-zones",
        _to_csv("transactions", _text("ts", "2025-01-15 10:00:00")),
        1,
        "transactions",
        {"transactions.ts.timezone": 1},
    ),
    Case(
        "csv-unknown-enum",
        _to_csv("entities", _text("entity_type", "association")),
        1,
        "entities",
        {"entities.entity_type.known": 1},
    ),
    # dataset-level problems: exit code 2 and one line naming the file and column
    Case(
        "missing-entities-file",
        _remove("entities.parquet"),
        2,
        message="entities.parquet: required table missing",
    ),
    Case(
        "missing-amount-column",
        _drop_column("transactions", "amount"),
        2,
        message="transactions.amount: required column missing in transactions.parquet",
    ),
    Case(
        "wrong-dtype-amount",
        _edit("transactions", lambda df: df.with_columns(pl.col("amount").cast(pl.String))),
        2,
        message="transactions.amount: has type String in transactions.parquet",
    ),
    Case(
        "empty-file",
        _write_bytes("accounts.parquet", lambda b: b""),
        2,
        message="accounts.parquet: empty file",
    ),
    Case(
        "truncated-parquet",
        _write_bytes("transactions.parquet", lambda b: b[: len(b) // 2]),
        2,
        message="transactions.parquet: cannot be read",
    ),
    Case(
        "csv-bad-encoding",
        _to_csv("entities", _text("name", "Frédéric Élysée"), encoding="latin-1"),
        2,
        message="entities.csv: line 4 is not UTF-8",
    ),
    Case(
        "header-only-entities",
        _header_only("entities"),
        2,
        message="entities.csv: required table has no rows",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world_copy: Path) -> None:
    case.mutate(world_copy)
    code, report, stderr = run_validate(world_copy)
    assert code == case.exit_code, stderr
    if case.exit_code == 2:
        assert report is None
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and case.message in lines[0], stderr
        return
    assert report is not None
    for name, t in report["tables"].items():
        assert t["rows_in"] == t["rows_accepted"] + t["rows_quarantined"], name
        if name == case.table:
            assert t["rules"] == case.rules, (name, t["rules"])
        elif case.also and name in case.also:
            assert t["rules"] and set(t["rules"]) <= case.also[name], (name, t["rules"])
        else:
            # a rejected row takes the rows that point to it along (references are checked
            # against accepted rows only); nothing else may fire
            assert all(rule.endswith(".exists") for rule in t["rules"]), (name, t["rules"])
    polars_report = validate_dataset(world_copy, engine="polars")
    for name, t in polars_report.tables.items():
        assert t.rules == report["tables"][name]["rules"], f"engines disagree on {name}"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def test_extra_column_is_kept_and_reported(world_copy: Path, tmp_path: Path) -> None:
    _edit("transactions", lambda df: df.with_columns(pl.lit("note").alias("memo")))(world_copy)
    out = tmp_path / "out"
    code, report, _ = run_validate(world_copy, "--quarantine", str(out))
    assert code == 0
    assert report["tables"]["transactions"]["extra_columns"] == ["memo"]
    accepted = pl.read_parquet(out / "accepted" / "transactions.parquet")
    assert accepted["memo"].eq("note").all()
