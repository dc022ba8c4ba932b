"""The command line: exit codes, one-line errors, the main job on embedded defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowrisk.cli import app
from flowrisk.pipeline.main_job import RUN_PURPOSE
from tests.conftest import run_flowrisk

runner = CliRunner()


def test_synth_writes_a_world_and_prints_its_summary(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["synth", "--entities", "800", "--seed", "2", "--out", str(tmp_path / "w")]
    )
    assert result.exit_code == 0, result.output
    assert "transactions" in result.output and "structuring" in result.output
    assert (tmp_path / "w" / "manifest.json").is_file()


def test_synth_json_and_typology_options(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "synth",
            "--entities",
            "1000",
            "--out",
            str(tmp_path),
            "--typologies",
            "mule,crypto",
            "--prevalence",
            "mule=0.02",
            "--intensity",
            "crypto=2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout[result.stdout.index("{") :])
    assert manifest["labels"]["per_typology"] == {"crypto": 3, "mule": 20}
    assert manifest["parameters"]["typologies"]["crypto"]["intensity"] == 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--entities", "-5"], "entities: must be"),
        (["--months", "0"], "months: must be"),
        (["--typologies", "smurfing"], "typology: unknown 'smurfing'"),
        (["--prevalence", "mule"], "--prevalence: expected NAME=VALUE"),
        (["--prevalence", "mule=lots"], "--prevalence: 'lots' is not a number"),
        (["--intensity", "mule=99"], "intensity[mule]: must be in"),
        (["--shape", "graph"], "--shape: must be one of full, edge-list"),
        (["--shape", "edge-list", "--typologies", "mule"], "typology: an edge-list world"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["synth", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_unwritable_output_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["synth", "--entities", "500", "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "error: out:" in result.stderr


def test_summary_reads_the_manifest(small_world_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["summary", str(small_world_dir)])
    assert result.exit_code == 0 and "2,000" in result.output
    missing = runner.invoke(app, ["summary", str(tmp_path)])
    assert missing.exit_code == 2 and "no manifest" in missing.stderr


@pytest.mark.slow
def test_main_job_runs_on_embedded_defaults(tmp_path: Path) -> None:
    """`flowrisk run` as the README's main command calls it, in a fresh FLOWRISK_HOME."""
    env = {**os.environ, "FLOWRISK_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "flowrisk", "run", "--entities", "2000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Laundering typologies" in done.stdout
    assert "0 rows quarantined" in done.stdout
    assert (tmp_path / "home" / "data" / "world" / "transactions.parquet").is_file()
    accepted = tmp_path / "home" / "data" / "validated" / "accepted" / "transactions.parquet"
    assert accepted.is_file()
    assert "Strongest single feature per typology" in done.stdout
    assert (tmp_path / "home" / "data" / "profiles.parquet").is_file()
    assert "Registered flowrisk version 1" in done.stdout and "champion -> version 1" in done.stdout
    assert "Scored 2,000 entities" in done.stdout and "Top " in done.stdout
    (report,) = (tmp_path / "home" / "reports").glob("*.html")
    assert report.stem in done.stdout and "<svg" in report.read_text(encoding="utf-8")

    # the other scoring commands, on the champion the main job registered
    import polars as pl

    def flowrisk(*args: str) -> subprocess.CompletedProcess[str]:
        return run_flowrisk(env, *args, timeout=300)

    # the README's sequence: the validated copy `flowrisk run` trained on is the world's data,
    # so a model trained on the world itself compares without a dataset warning
    trained = flowrisk("train", str(tmp_path / "home" / "data" / "world"))
    assert trained.returncode == 0 and "Registered flowrisk version 2" in trained.stdout
    compared = flowrisk("models", "compare", "champion", "2")
    assert compared.returncode == 0, compared.stderr
    assert "different datasets" not in compared.stdout + compared.stderr
    assert "version 1" in compared.stdout and "version 2" in compared.stdout
    data = str(tmp_path / "home" / "data" / "validated" / "accepted")
    out = tmp_path / "all"
    scored = flowrisk("score", data, "--out", str(out), "--explain", "all", "--partitions", "2")
    assert scored.returncode == 0, scored.stderr
    explained = pl.read_parquet(out / "explanations.parquet")
    assert explained.height == pl.read_parquet(out / "scores.parquet").height == 2_000
    assert json.loads((out / "run.json").read_text())["partitions"] == 2
    entity = report.stem
    case = ("--purpose", "case 2026-117")
    text = flowrisk("explain", data, entity, *case)
    assert text.returncode == 0 and entity in text.stdout and "median" in text.stdout
    as_json = json.loads(flowrisk("explain", data, entity, "--json", *case).stdout)
    assert as_json["entity_id"] == entity and as_json["reasons"]
    page = tmp_path / "case.html"
    assert flowrisk("report", data, entity, "--out", str(page), *case).returncode == 0
    assert entity in page.read_text(encoding="utf-8")
    pdf = tmp_path / "case.pdf"
    made = flowrisk(
        "report", data, entity, "--format", "pdf", "--locale", "fr", "--out", str(pdf), *case
    )
    assert made.returncode == 0, made.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    refused = flowrisk("explain", data, entity, "--purpose", "\u200b")
    assert refused.returncode == 2 and "--purpose" in refused.stderr and not refused.stdout
    from flowrisk.audit import Store

    rows = list(Store(f"sqlite:///{tmp_path / 'home' / 'audit.db'}").audit_rows())
    looked = [(r["route"], r["purpose"]) for r in rows if r["entity_id"] == entity]
    assert looked == [
        ("flowrisk run", RUN_PURPOSE),
        ("flowrisk explain", "case 2026-117"),
        ("flowrisk explain", "case 2026-117"),
        ("flowrisk report", "case 2026-117"),
        ("flowrisk report", "case 2026-117"),
    ]
    assert all(r["actor"].startswith("cli:") and r["method"] == "CLI" for r in rows)
    # a dataset with a broken row: validated first, the row quarantined, the rest scored
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    (broken / "manifest.json").unlink()  # edited by hand: its files no longer match a manifest
    tx = pl.read_parquet(broken / "transactions.parquet")
    tx.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(-5.0).otherwise(pl.col("amount")).alias("amount")
    ).write_parquet(broken / "transactions.parquet")
    checked = flowrisk("score", str(broken), "--out", str(tmp_path / "checked"))
    assert checked.returncode == 0, checked.stderr
    assert "1 rows quarantined" in checked.stderr
    quarantined = pl.read_parquet(
        tmp_path / "checked" / "validated" / "quarantine" / "transactions.parquet"
    )
    assert quarantined.height == 1 and quarantined["amount"][0] == -5.0
    assert pl.read_parquet(tmp_path / "checked" / "scores.parquet").height == 2_000
    for args, named in [
        (("explain", data, "NOBODY", *case), "NOBODY"),
        (("score", data, "--model", "models:/flowrisk/9"), "models:/flowrisk/9"),
    ]:
        bad = flowrisk(*args)
        lines = [x for x in bad.stderr.splitlines() if x.startswith("error:")]
        assert bad.returncode in (1, 2) and len(lines) == 1 and named in lines[0], bad.stderr
    for args, named in [  # typed options: refused by the parser, which names the option
        (("score", data, "--engine", "spark"), "'--engine'"),
        (("score", data, "--explain", "some"), "'--explain'"),
    ]:
        bad = runner.invoke(app, list(args))
        assert bad.exit_code == 2 and named in bad.stderr and "alerts" not in bad.stdout, bad.stderr


def test_features_command(small_world_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "profiles.parquet"
    result = runner.invoke(
        app,
        [
            "features",
            str(small_world_dir),
            "--as-of",
            "2025-12-01",
            "--out",
            str(out),
            "--partitions",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    import polars as pl

    from flowrisk.features import feature_names

    profiles = pl.read_parquet(out)
    assert profiles.height == 2_000 and profiles.columns[2:] == feature_names()
    assert out.with_suffix(".baselines.json").is_file()
    again = runner.invoke(
        app,
        [
            "features",
            str(small_world_dir),
            "--as-of",
            "2025-12-01",
            "--out",
            str(tmp_path / "b.parquet"),
            "--baselines",
            str(out.with_suffix(".baselines.json")),
        ],
    )
    assert again.exit_code == 0
    from polars.testing import assert_frame_equal

    assert_frame_equal(pl.read_parquet(tmp_path / "b.parquet"), profiles, check_exact=True)
    bad = runner.invoke(
        app, ["features", str(small_world_dir), "--as-of", "soon", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "--as-of" in bad.stderr


def test_train_list_promote_through_sqlite(tmp_path: Path, trained_world_dir: Path) -> None:
    """`flowrisk train` on a generated world registers versions in a real SQLite store;
    `models promote` refuses a worse challenger unless forced."""
    from flowrisk.config import get_settings

    world = trained_world_dir
    first = runner.invoke(app, ["train", str(world), "--seed", "1"])
    assert first.exit_code == 0, first.output
    assert "Registered flowrisk version 1" in first.output and "raw_sums" in first.output
    assert runner.invoke(app, ["models", "promote", "1"]).exit_code == 0
    (tmp_path / "params.toml").write_text("num_leaves = 15\n", encoding="utf-8")
    second = runner.invoke(
        app, ["train", str(world), "--seed", "2", "--params", str(tmp_path / "params.toml")]
    )
    assert second.exit_code == 0
    from mlflow import MlflowClient

    from flowrisk.models.registry import Registry

    card = MlflowClient(get_settings().tracking_uri).get_model_version("flowrisk", "2").description
    assert card.startswith("# flowrisk model, version 2") and "num_leaves=15" in card

    versions = {v["version"]: v for v in Registry(get_settings().tracking_uri).list_versions()}
    assert versions["1"]["aliases"] == ["champion"] and versions["2"]["aliases"] == []
    better, worse = sorted(versions, key=lambda k: versions[k]["pr_auc"], reverse=True)
    assert runner.invoke(app, ["models", "promote", better]).exit_code == 0
    tried = runner.invoke(app, ["models", "promote", worse, "--resamples", "200"])
    if tried.exit_code == 2:  # significantly worse on the held-out entities
        assert "significantly worse" in tried.stderr and "--force" in tried.stderr
        forced = runner.invoke(app, ["models", "promote", worse, "--force"])
        assert forced.exit_code == 0
    else:  # a difference inside the noise (or none) is promoted and said to be one
        assert tried.exit_code == 0, tried.output
        assert "inside the noise" in tried.stdout and "95% CI" in tried.stdout
    listing = runner.invoke(app, ["models", "list"])
    assert "champion" in listing.output
    missing = runner.invoke(app, ["models", "promote", "42"])
    assert missing.exit_code == 1 and "version 42 does not exist" in missing.stderr
    compared = runner.invoke(app, ["models", "compare", "1", "2", "--json", "--resamples", "200"])
    assert compared.exit_code == 0, compared.output
    side_by_side = json.loads(compared.stdout)
    assert side_by_side["heldout_of"] == "2" and side_by_side["warning"] is None
    assert set(side_by_side["metrics"]) == {"1", "2"} and side_by_side["versions"] == ["1", "2"]
    difference = side_by_side["differences"]["pr_auc"]  # version 2 minus version 1
    assert difference["difference"] == pytest.approx(
        side_by_side["metrics"]["2"]["pr_auc"] - side_by_side["metrics"]["1"]["pr_auc"]
    )
    assert difference["low"] <= difference["high"] and difference["resamples"] <= 200
    ceiling = side_by_side["metrics"]["1"]["recall_ceiling_at_1pct"]
    assert side_by_side["metrics"]["1"]["recall_at_1pct"] <= ceiling <= 1
    # the split does not follow the model seed: each version's logged held-out PR-AUC is the
    # one compare recomputes on the shared held-out data
    for v in ("1", "2"):
        assert side_by_side["metrics"][v]["pr_auc"] == pytest.approx(versions[v]["pr_auc"])
    table = runner.invoke(app, ["models", "compare", "champion", "1", "--resamples", "100"])
    assert table.exit_code == 0 and "version 1" in table.output and "mule" in table.output
    assert "ceiling" in table.output and "paired bootstrap" in table.output
    unknown = runner.invoke(app, ["models", "compare", "1", "@nope"])
    assert unknown.exit_code == 1 and "alias 'nope' does not exist" in unknown.stderr
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('{"num_leave": 15}', ".json", "'num_leave' is not a LightGBM parameter"),
        ('{"seed": 3}', ".json", "'seed' is set by flowrisk"),
        ('objective = "regression"', ".toml", "objective must stay 'binary'"),
        ("[1, 2]", ".json", "must hold a table"),
        ("num_leaves = ", ".toml", "cannot read"),
    ],
)
def test_bad_training_params_are_refused_by_name(
    small_world_dir: Path, tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"params{suffix}"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["train", str(small_world_dir), "--params", str(path)])
    assert result.exit_code == 2
    assert "params" in result.stderr and message in result.stderr


def test_train_refuses_a_dataset_without_labels(tmp_path: Path, small_world_dir: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(small_world_dir, data)
    (data / "labels.parquet").unlink()
    result = runner.invoke(app, ["train", str(data)])
    assert result.exit_code == 2 and "labels" in result.stderr


@pytest.mark.parametrize(
    ("keep", "message"),
    [(0, "only one class"), (12, "only 0 positive|positive entities to train on")],
)
def test_train_refuses_labels_without_enough_positives(
    tmp_path: Path, small_world_dir: Path, keep: int, message: str
) -> None:
    """No positive at all, or a handful: one line naming the labels, exit 2, nothing logged."""
    import re
    import shutil

    import polars as pl

    data = tmp_path / "data"
    shutil.copytree(small_world_dir, data)
    labels = pl.read_parquet(data / "labels.parquet")
    positive = (pl.col("label") == 1) & (pl.int_range(pl.len()).over("label") < keep)
    labels.with_columns(
        pl.when(positive).then(1).otherwise(0).cast(pl.Int8).alias("label")
    ).write_parquet(data / "labels.parquet")
    env = {"FLOWRISK_HOME": str(tmp_path / "home")}
    result = runner.invoke(app, ["train", str(data), "--no-verify"], env=env)  # edited on purpose
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert line.startswith("error: labels:") and re.search(message, line)


def test_unreachable_tracking_server_is_one_line_and_fast(
    small_world_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from flowrisk.config import get_settings

    monkeypatch.setenv("FLOWRISK_MLFLOW_URI", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    started = time.perf_counter()
    result = runner.invoke(app, ["train", str(small_world_dir)])
    get_settings.cache_clear()
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "MLflow at http://127.0.0.1:9" in lines[0]
    assert time.perf_counter() - started < 60
