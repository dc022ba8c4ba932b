"""A world reduced to a plain edge list (``flowrisk synth --shape edge-list``) passes the data
contracts: only amounts, times and counterparties, empty tables where an edge list has none."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.data_contracts import validate_dataset
from flowrisk.schema import SHORT_WINDOW_TYPOLOGIES


@pytest.fixture(scope="module")
def edge_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edge_world")
    done = CliRunner().invoke(
        app,
        [
            "synth",
            "--out",
            str(out),
            "--entities",
            "3000",
            "--months",
            "3",
            "--seed",
            "4",
            "--shape",
            "edge-list",
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    return out


@pytest.mark.parametrize("engine", ["polars", "gx"])
def test_an_edge_list_world_passes_the_contracts(edge_world: Path, engine: str) -> None:
    report = validate_dataset(edge_world, engine=engine)  # type: ignore[arg-type]
    assert report.clean, report.to_json()
    assert {n: t.rows_in for n, t in report.tables.items() if t.rows_in == 0} == {
        "assets": 0,
        "ownership": 0,
        "reports": 0,
    }


def test_it_carries_only_amounts_times_and_counterparties(edge_world: Path) -> None:
    tx = pl.read_parquet(edge_world / "transactions.parquet")
    assert tx.height > 10_000
    assert tx["src_account_id"].null_count() == tx["dst_account_id"].null_count() == 0
    assert set(tx["channel"].cast(pl.String)) == {"wire"}
    assert tx["currency_original"].null_count() == tx["branch_id"].null_count() == tx.height
    accounts = pl.read_parquet(edge_world / "accounts.parquet")
    assert set(accounts["account_type"].cast(pl.String)) == {"current", "external"}
    used = set(tx["src_account_id"]) | set(tx["dst_account_id"])
    assert used <= set(accounts["account_id"])
    entities = pl.read_parquet(edge_world / "entities.parquet")
    for column in ("sector_code", "declared_income", "declared_revenue", "registration_date"):
        assert entities[column].null_count() == entities.height, column
    labels = pl.read_parquet(edge_world / "labels.parquet").explode("typologies")
    assert set(labels["typologies"].drop_nulls().cast(pl.String)) == set(SHORT_WINDOW_TYPOLOGIES)
    manifest = json.loads((edge_world / "manifest.json").read_text())
    assert manifest["parameters"]["shape"] == "edge-list"
    flagged = pl.read_parquet(edge_world / "transaction_labels.parquet")
    assert flagged.join(tx, on="txn_id", how="anti").height == 0
