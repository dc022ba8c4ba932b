"""IBM AMLworld transaction files (``Timestamp, From Bank, Account, To Bank, Account, Amount
Received, Receiving Currency, Amount Paid, Payment Currency, Payment Format, Is Laundering``) as
a flowrisk dataset.

Mapping: each (bank, account) pair is one account held by one person entity (the files name no
owners); amounts are the amount paid, converted to EUR with the fixed rate table below; payment
formats map to channels (ACH and reinvestment to ``wire``, credit card to ``card``, Bitcoin to
``crypto``); ``Is Laundering`` is kept per transaction (``transaction_labels``, typology
``layering``), and an account's entity is labelled positive when it sent or received a
laundering transaction, dated by its first one. Rows that cannot be read (a bad timestamp or
amount, an unknown currency or format) are kept with nulls and quarantined by the contracts.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flowrisk.errors import DatasetError, DatasetNotFound

__all__ = ["CHANNELS", "EUR_PER_UNIT", "TYPOLOGY", "amlworld_tables"]

TYPOLOGY = "layering"  # the typology (of flowrisk.schema.TYPOLOGIES) of laundering rows

COLUMNS = [
    "Timestamp",
    "From Bank",
    "Account",
    "To Bank",
    "Account.1",
    "Amount Received",
    "Receiving Currency",
    "Amount Paid",
    "Payment Currency",
    "Payment Format",
    "Is Laundering",
]
# name in the files -> (ISO code, EUR per unit): rounded 2022 averages (the AMLworld period);
# figures are for putting amounts on one scale, not for accounting
EUR_PER_UNIT: dict[str, tuple[str, float]] = {
    "Euro": ("EUR", 1.0),
    "US Dollar": ("USD", 0.95),
    "UK Pound": ("GBP", 1.17),
    "Swiss Franc": ("CHF", 1.00),
    "Yen": ("JPY", 0.0073),
    "Yuan": ("CNY", 0.14),
    "Rupee": ("INR", 0.012),
    "Ruble": ("RUB", 0.014),
    "Canadian Dollar": ("CAD", 0.73),
    "Australian Dollar": ("AUD", 0.66),
    "Mexican Peso": ("MXN", 0.047),
    "Brazil Real": ("BRL", 0.18),
    "Saudi Riyal": ("SAR", 0.25),
    "Shekel": ("ILS", 0.28),
    "Bitcoin": ("BTC", 19_000.0),
}
CHANNELS = {
    "Cash": "cash",
    "Cheque": "cheque",
    "Credit Card": "card",
    "ACH": "wire",
    "Wire": "wire",
    "Reinvestment": "wire",
    "Bitcoin": "crypto",
}


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise DatasetNotFound(f"{path}: no such file")
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DatasetError(f"{path.name}: cannot be read ({str(exc).splitlines()[0]})") from exc
    # the two account columns share a name; Polars reads the second as Account_duplicated_0
    frame = frame.rename({c: "Account.1" for c in frame.columns if c.startswith("Account_dup")})
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path.name}: missing column {missing[0]!r} (expected {COLUMNS})")
    return frame.select(pl.col(c).str.strip_chars() for c in COLUMNS)


def _transactions(raw: pl.DataFrame) -> pl.DataFrame:
    """One transaction per row: accounts as ``bank:account``, the amount paid in EUR, the
    channel of the payment format, and the file's laundering flag (kept aside)."""
    codes = {k: v[0] for k, v in EUR_PER_UNIT.items()}
    rates = {k: v[1] for k, v in EUR_PER_UNIT.items()}
    src = pl.format("{}:{}", pl.col("From Bank"), pl.col("Account"))
    dst = pl.format("{}:{}", pl.col("To Bank"), pl.col("Account.1"))
    eur_per_unit = pl.col("Payment Currency").replace_strict(
        rates, default=None, return_dtype=pl.Float64
    )
    return raw.select(
        pl.col("txn_id").cast(pl.Int64),
        pl.col("Timestamp")
        .str.to_datetime("%Y/%m/%d %H:%M", strict=False, time_zone="UTC")
        .alias("ts"),
        src.alias("src_account_id"),
        dst.alias("dst_account_id"),
        (pl.col("Amount Paid").cast(pl.Float64, strict=False) * eur_per_unit)
        .round(2)
        .alias("amount"),
        pl.col("Payment Format")
        .replace_strict(CHANNELS, default=pl.col("Payment Format"))
        .alias("channel"),
        pl.col("Payment Currency")
        .replace_strict(codes, default=pl.col("Payment Currency"))
        .alias("currency_original"),
        pl.col("Is Laundering").cast(pl.Int8, strict=False).alias("laundering"),
    )


def _accounts(tx: pl.DataFrame, country: str) -> pl.DataFrame:
    """Every account seen, each held by its own person entity ``E-<account>``."""
    ids = pl.concat([tx["src_account_id"], tx["dst_account_id"]]).unique().sort()
    return pl.DataFrame({"account_id": ids}).with_columns(
        pl.format("E-{}", pl.col("account_id")).alias("entity_id"),
        pl.lit("current").alias("account_type"),
        pl.lit(country).alias("country"),
    )


def _labels(bad: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """An entity is positive when its account sent or received a laundering transaction,
    dated by the first one."""
    involved = (
        pl.concat(
            [
                bad.select(pl.col("src_account_id").alias("account_id"), "ts"),
                bad.select(pl.col("dst_account_id").alias("account_id"), "ts"),
            ]
        )
        .group_by("account_id")
        .agg(pl.col("ts").min().dt.date().alias("label_date"))
    )
    positive = pl.col("label_date").is_not_null()
    return (
        accounts.select("account_id", "entity_id")
        .join(involved, on="account_id", how="left")
        .select(
            "entity_id",
            positive.cast(pl.Int8).alias("label"),
            pl.when(positive).then(pl.lit(TYPOLOGY)).alias("typology"),
            pl.when(positive)
            .then(pl.lit([TYPOLOGY]))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
            .alias("typologies"),
            pl.col("label_date").cast(pl.Date),
        )
    )


def amlworld_tables(path: Path, *, country: str = "FR") -> dict[str, pl.DataFrame]:
    """The dataset tables of one AMLworld transaction CSV (``country`` is a placeholder for
    every entity and account: the files carry no geography)."""
    tx = _transactions(_read(Path(path)).with_row_index("txn_id"))
    accounts = _accounts(tx, country)
    entities = accounts.select(
        "entity_id", pl.lit("person").alias("entity_type"), pl.lit(country).alias("country")
    )
    bad = tx.filter(pl.col("laundering") == 1)
    transaction_labels = bad.select(
        "txn_id",
        pl.format("E-{}", pl.col("src_account_id")).alias("entity_id"),
        pl.lit(TYPOLOGY).alias("typology"),
        pl.lit(None, dtype=pl.Int64).alias("scheme_id"),
    )
    return {
        "entities": entities,
        "accounts": accounts,
        "transactions": tx.drop("laundering"),
        "labels": _labels(bad, accounts),
        "transaction_labels": transaction_labels,
    }
