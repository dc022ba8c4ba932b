"""`flowrisk benchmark` end to end on two small generated worlds: four models on each world's
own split, paired differences, the family ablation, the Markdown written atomically, a parent
MLflow run with a nested run per dataset in a real SQLite store, visible progress, named errors,
and the command once in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("snapml")

from flowrisk.errors import InvalidParameter
from flowrisk.models.external_bench import BASELINES, COMPARED, MODELS
from flowrisk.models.registry import Registry
from flowrisk.pipeline.benchmark import BenchmarkResult, dataset_names, run_benchmark
from flowrisk.synth import WorldParams, generate_world

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def _world(folder: Path, seed: int) -> Path:
    """800 entities over 7 months with three times the default prevalence: enough positives
    for the split, small enough for Snap ML in seconds."""
    base = WorldParams(entities=800, months=7, seed=seed, chunk_entities=1_000)
    scaled = {n: t.prevalence * 3 for n, t in base.typologies.items()}
    generate_world(base.with_overrides(prevalence=scaled), folder)
    return folder


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("bench")
    return [_world(root / "north" / "world", 5), _world(root / "south" / "world", 6)]


@pytest.fixture(scope="module")
def ran(
    worlds: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[BenchmarkResult, Registry, Path, dict[str, list[tuple[int, int | None]]]]:
    tmp = tmp_path_factory.mktemp("bench_run")
    registry = Registry(f"sqlite:///{tmp / 'mlflow.db'}", tmp / "art")
    seen: dict[str, list[tuple[int, int | None]]] = {}

    def ticks(description: str) -> Any:
        return lambda done, total: seen.setdefault(description, []).append((done, total))

    out = tmp / "report.md"
    result = run_benchmark(
        worlds,
        resamples=50,
        ablation=True,
        verify=False,
        out=out,
        registry=registry,
        experiment="bench",
        ticks=ticks,
    )
    return result, registry, out, seen


def test_each_dataset_gets_four_models_and_paired_differences(ran: Any) -> None:
    result, _, _, _ = ran
    assert list(result.results) == ["north/world", "south/world"]
    for outcome in result.results.values():
        assert list(outcome["metrics"]) == list(MODELS)
        for metrics in outcome["metrics"].values():
            assert 0 <= metrics["pr_auc"] <= 1 and 0 <= metrics["roc_auc"] <= 1
            assert 0 <= metrics["f1_minority"] <= 1 and 0 <= metrics["recall_at_1pct"] <= 1
        assert set(outcome["differences"]) == set(COMPARED)
        for metric, d in outcome["differences"].items():
            assert d["versus"] in BASELINES
            best = max(outcome["metrics"][b][metric] for b in BASELINES)
            assert d["difference"] == pytest.approx(outcome["metrics"]["flowrisk"][metric] - best)
            assert d["low"] <= d["high"] and d["resamples"] + d["skipped"] == 50
        test = outcome["split"]["test"]
        assert 0 < test["positives"] < test["rows"]
        assert outcome["recall_at_1pct_cap"]["capped"] == (
            test["positives"] > max(1, round(0.01 * test["rows"]))
        )
        assert "every family" in outcome["family_ablation"]


def test_the_markdown_is_written_and_printed_the_same(ran: Any) -> None:
    result, _, out, _ = ran
    assert out.read_text(encoding="utf-8") == result.markdown
    assert "| north/world | flowrisk_plus_graph |" in result.markdown
    assert "What each feature family adds on south/world" in result.markdown
    assert not list(out.parent.glob(".*partial*"))


def test_mlflow_holds_a_parent_run_and_a_nested_run_per_dataset(ran: Any) -> None:
    from mlflow import MlflowClient

    result, registry, _, _ = ran
    client = MlflowClient(registry.tracking_uri)
    parent = client.get_run(result.run_id)
    assert parent.data.params["resamples"] == "50"
    names = [a.path for a in client.list_artifacts(result.run_id)]
    assert "benchmark.md" in names
    experiment = client.get_experiment_by_name("bench")
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert sorted(c.data.params["dataset"] for c in children) == ["north/world", "south/world"]
    for child in children:
        for model in MODELS:
            assert 0 <= child.data.metrics[f"{model}.pr_auc"] <= 1
        assert "difference.pr_auc.low" in child.data.metrics


def test_progress_moves_per_dataset_and_per_snap_ml_batch(ran: Any) -> None:
    _, _, _, seen = ran
    assert seen["datasets"][-1] == (2, 2)
    graph = seen["north/world: graph features (Snap ML)"]
    assert len(graph) >= 2 and graph[-1][0] == graph[-1][1]
    assert [d for d, _ in graph] == sorted(d for d, _ in graph)


def test_an_unlabelled_dataset_is_named(worlds: list[Path], tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(worlds[0], bare)
    (bare / "labels.parquet").unlink()
    (bare / "manifest.json").unlink()
    with pytest.raises(InvalidParameter, match=r"no labels\.parquet") as err:
        run_benchmark([bare], verify=False)
    assert str(bare) in str(err.value)


def test_dataset_names_are_distinct() -> None:
    assert dataset_names([Path("/a/x"), Path("/b/y")]) == ["x", "y"]
    assert dataset_names([Path("/a/x"), Path("/b/x")]) == ["a/x", "b/x"]
    with pytest.raises(InvalidParameter):
        run_benchmark([])
    with pytest.raises(InvalidParameter, match="resamples"):
        run_benchmark([Path("/a/x")], resamples=0)


def test_the_command_runs_in_a_subprocess(worlds: list[Path], tmp_path: Path) -> None:
    env = {**os.environ, "FLOWRISK_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    out = tmp_path / "table.md"
    command = [sys.executable, "-m", "flowrisk", "benchmark", str(worlds[0]), "--out", str(out)]
    done = subprocess.run(
        [*command, "--resamples", "30", "--no-verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "flowrisk_plus_graph" in done.stdout and out.is_file()
    assert "MLflow run" in done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "flowrisk", "benchmark", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2 and "nowhere" in missing.stderr
