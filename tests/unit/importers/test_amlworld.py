"""AMLworld import on files written in the exact format: every payment format, several
currencies converted with the documented rates, malformed rows quarantined (never dropped),
transaction labels kept and account-level labels derived."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.importers.amlworld import CHANNELS, EUR_PER_UNIT, TYPOLOGY
from flowrisk.schema import CHANNELS as DATA_MODEL_CHANNELS
from flowrisk.schema import TYPOLOGIES

runner = CliRunner()
HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)
GOOD = [
    "2022/09/01 00:20,10,8000EBD30,10,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0",
    "2022/09/01 00:20,3208,8000F4580,1,8000F5340,0.01,US Dollar,0.01,US Dollar,Cheque,0",
    "2022/09/01 00:02,12,8000F5030,12,8000F5030,2806.97,Euro,2806.97,Euro,Cash,0",
    "2022/09/01 00:03,1,8000F5AD0,1,8000EBAC0,6162.44,Yen,6162.44,Yen,ACH,1",
    "2022/09/01 00:08,1,8000EBAC0,20,80020C5B0,14.26,UK Pound,14.26,UK Pound,Credit Card,0",
    "2022/09/02 10:08,20,80020C5B0,1,8000EBAC0,0.5,Bitcoin,0.5,Bitcoin,Bitcoin,1",
    "2022/09/02 11:00,1,8000EBAC0,3208,8000F4580,120000,Yuan,120000,Yuan,Wire,0",
    "2022/09/03 09:15,12,8000F5030,10,8000EBD30,5000,Rupee,5000,Rupee,Wire,0",
]
BAD = [
    "2022/13/45 25:61,1,8000EBAC0,1,8000F5AD0,10,Euro,10,Euro,Wire,0",  # no such time
    "2022/09/03 09:15,1,8000EBAC0,1,8000F5AD0,ten,Euro,ten,Euro,Wire,0",  # unreadable amount
    "2022/09/03 09:15,1,8000EBAC0,1,8000F5AD0,10,Dinar,10,Dinar,Wire,0",  # unknown currency
    "2022/09/03 09:15,1,8000EBAC0,1,8000F5AD0,10,Euro,10,Euro,Pigeon,0",  # unknown format
    "2022/09/03 09:15,1,8000EBAC0,1,8000F5AD0,-10,Euro,-10,Euro,Wire,0",  # negative amount
]


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    source = tmp_path / "HI-Tiny_Trans.csv"
    source.write_text("\n".join([HEADER, *GOOD, *BAD]) + "\n", encoding="utf-8")
    out = tmp_path / "ds"
    result = runner.invoke(app, ["import", "amlworld", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 rows quarantined" in result.output
    return out


def test_every_payment_format_and_currency(imported: Path) -> None:
    assert {line.split(",")[9] for line in GOOD} == set(CHANNELS)  # the sample covers them
    tx = pl.read_parquet(imported / "transactions.parquet").sort("txn_id")
    assert tx.height == len(GOOD)
    assert tx["channel"].cast(pl.String).to_list() == [
        "wire",
        "cheque",
        "cash",
        "wire",
        "card",
        "crypto",
        "wire",
        "wire",
    ]
    assert tx["currency_original"].to_list() == [
        "USD",
        "USD",
        "EUR",
        "JPY",
        "GBP",
        "BTC",
        "CNY",
        "INR",
    ]
    rate = {code: r for code, r in EUR_PER_UNIT.values()}
    assert tx["amount"].to_list() == [
        round(3697.34 * rate["USD"], 2),
        round(0.01 * rate["USD"], 2),
        2806.97,
        round(6162.44 * rate["JPY"], 2),
        round(14.26 * rate["GBP"], 2),
        round(0.5 * rate["BTC"], 2),
        round(120000 * rate["CNY"], 2),
        round(5000 * rate["INR"], 2),
    ]
    assert tx["ts"][0].isoformat() == "2022-09-01T00:20:00+00:00"
    assert tx["src_account_id"][1] == "3208:8000F4580" and tx["dst_account_id"][1] == "1:8000F5340"


def test_malformed_rows_are_quarantined_with_their_rule(imported: Path) -> None:
    rejected = pl.read_parquet(imported / "quarantine" / "transactions.parquet").sort("txn_id")
    assert rejected["txn_id"].to_list() == list(range(len(GOOD), len(GOOD) + len(BAD)))
    rules = [set(r) for r in rejected["_rules"]]
    assert "transactions.ts.not_null" in rules[0]
    assert "transactions.amount.not_null" in rules[1]
    assert "transactions.amount.not_null" in rules[2]  # no rate for the currency
    assert "transactions.currency_original.code" in rules[2]
    assert "transactions.channel.known" in rules[3]
    assert "transactions.amount.range" in rules[4]
    manifest = json.loads((imported / "manifest.json").read_text())
    assert manifest["quarantined"] == len(BAD) and manifest["rows"]["transactions"] == len(GOOD)


def test_labels_per_transaction_and_per_account(imported: Path) -> None:
    tl = pl.read_parquet(imported / "transaction_labels.parquet").sort("txn_id")
    assert tl["txn_id"].to_list() == [3, 5]  # the two rows marked Is Laundering = 1
    labels = pl.read_parquet(imported / "labels.parquet")
    positive = set(labels.filter(pl.col("label") == 1)["entity_id"])
    assert positive == {"E-1:8000F5AD0", "E-1:8000EBAC0", "E-20:80020C5B0"}
    dated = labels.filter(pl.col("entity_id") == "E-20:80020C5B0")["label_date"][0]
    assert str(dated) == "2022-09-02"
    assert labels.height == pl.read_parquet(imported / "entities.parquet").height


def test_the_mapping_speaks_the_data_model() -> None:
    assert set(CHANNELS.values()) <= set(DATA_MODEL_CHANNELS)
    assert TYPOLOGY in TYPOLOGIES


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "wrong.csv"
    source.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "amlworld", str(source), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "missing column 'Timestamp'" in result.stderr


@pytest.mark.slow
def test_transaction_level_protocol_on_a_written_file(tmp_path: Path) -> None:
    """60/20/20 in time, both models, on an AMLworld-format file with fan-in laundering."""
    import random
    from datetime import datetime, timedelta

    from flowrisk.importers import write_imported
    from flowrisk.importers.amlworld import amlworld_tables
    from flowrisk.io import read_dataset
    from flowrisk.models.external_bench import compare_transactions

    rng = random.Random(5)
    start = datetime(2022, 9, 1)
    accounts = [f"{rng.randint(1, 30)},8{i:08X}" for i in range(300)]
    lines = [HEADER]
    for _ in range(4_000):
        a, b = rng.sample(accounts, 2)
        when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 40))
        amount = round(rng.lognormvariate(6, 1), 2)
        fmt = rng.choice(["Cheque", "Credit Card", "ACH", "Wire", "Cash"])
        lines.append(f"{when:%Y/%m/%d %H:%M},{a},{b},{amount},Euro,{amount},Euro,{fmt},0")
    for _ in range(60):  # fan-in: five senders to one collector within two hours
        collector, *senders = rng.sample(accounts, 6)
        when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 40))
        for k, sender in enumerate(senders):
            t = when + timedelta(minutes=20 * k)
            lines.append(
                f"{t:%Y/%m/%d %H:%M},{sender},{collector},9500,US Dollar,9500,US Dollar,ACH,1"
            )
    source = tmp_path / "trans.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_imported(amlworld_tables(source), tmp_path / "ds", {"format": "amlworld"})
    tables = read_dataset(
        tmp_path / "ds", tables=["entities", "accounts", "transactions", "transaction_labels"]
    )
    frames = {k: v.collect().lazy() for k, v in tables.items() if k != "transaction_labels"}
    result = compare_transactions(frames, tables["transaction_labels"].collect())
    assert set(result["metrics"]) == {"flowrisk", "snapml_graph_lightgbm"}
    for m in result["metrics"].values():
        assert m["test_positives"] > 10 and 0 <= m["pr_auc"] <= 1 and 0 <= m["f1_minority"] <= 1
    assert result["split"]["valid_start"] < result["split"]["test_start"]
