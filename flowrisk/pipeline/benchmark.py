"""The benchmark over one or more labelled datasets: each read once and compared on its own split
(:func:`flowrisk.models.external_bench.compare_on_dataset`), the Markdown table written
atomically, and everything logged to MLflow: one parent run per benchmark, one nested run per
dataset with every model's metrics, the Markdown as an artifact of the parent."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowrisk.errors import InvalidParameter
from flowrisk.io import read_labelled, replace_file_atomically
from flowrisk.models.bootstrap import RESAMPLES
from flowrisk.models.registry import Registry
from flowrisk.pipeline.progress import Tick, Ticks, no_ticks
from flowrisk.pipeline.readable import reading_dataset

__all__ = ["BenchmarkResult", "dataset_names", "run_benchmark"]

REPORT_ARTIFACT = "benchmark.md"


@dataclass(frozen=True)
class BenchmarkResult:
    """Per dataset name, what :func:`compare_on_dataset` returned; the Markdown; the parent
    MLflow run (None when nothing was logged)."""

    results: dict[str, dict[str, Any]]
    markdown: str
    run_id: str | None


def dataset_names(datasets: Sequence[Path]) -> list[str]:
    """A distinct short name per dataset: the folder name, with its parent when two share it."""
    names = [Path(d).resolve().name for d in datasets]
    return [
        f"{Path(d).resolve().parent.name}/{n}" if names.count(n) > 1 else n
        for d, n in zip(datasets, names, strict=True)
    ]


def _one(
    dataset: Path,
    *,
    seed: int,
    ticks: Ticks,
    resamples: int,
    ablation: bool,
    transactions: bool,
    verify: bool,
) -> dict[str, Any]:
    """Read one labelled dataset once and compare the models on it (also at transaction level
    when asked and it has transaction labels); its errors name the dataset."""
    from flowrisk.models.external_bench import compare_on_dataset, compare_transactions

    try:
        tables, labels, per_txn = read_labelled(dataset, "the benchmark", verify=verify)
        with reading_dataset(dataset):
            frames = {name: frame.collect().lazy() for name, frame in tables.items()}
        result = compare_on_dataset(
            frames, labels, seed=seed, ticks=ticks, resamples=resamples, ablation=ablation
        )
        if transactions and per_txn is not None and per_txn.height:
            result["transactions"] = compare_transactions(frames, per_txn, seed=seed, ticks=ticks)
    except InvalidParameter as exc:
        if str(dataset) in exc.message:
            raise
        raise InvalidParameter(exc.name, f"{dataset}: {exc.message}") from exc
    return result


def _numbers(values: dict[str, Any], prefix: str) -> dict[str, float]:
    return {
        f"{prefix}{k}": float(v)
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v is not None
    }


def _log(
    registry: Registry,
    experiment: str,
    results: dict[str, dict[str, Any]],
    markdown: str,
    params: dict[str, Any],
) -> str:
    """The parent run with the Markdown, a nested run per dataset with its metrics."""
    import mlflow

    with registry.start_run(experiment) as run_id:
        mlflow.set_tag("mlflow.runName", "benchmark")
        mlflow.log_params(params)
        mlflow.log_text(markdown, REPORT_ARTIFACT)
        active = mlflow.active_run()
        assert active is not None
        for name, result in results.items():
            with mlflow.start_run(
                run_name=name, nested=True, experiment_id=active.info.experiment_id
            ):
                mlflow.log_params({"dataset": name, "dates": ",".join(result["dates"])})
                for model, metrics in result["metrics"].items():
                    mlflow.log_metrics(_numbers(metrics, f"{model}."))
                for metric, d in result["differences"].items():
                    mlflow.log_metrics(_numbers(d, f"difference.{metric}."))
                    mlflow.set_tag(f"difference.{metric}.versus", d["versus"])
                for run, m in result.get("family_ablation", {}).items():
                    mlflow.log_metrics(_numbers(m, f"ablation.{run.replace(' ', '_')}."))
                mlflow.log_text(json.dumps(result, indent=1, default=str), "result.json")
    return run_id


def run_benchmark(
    datasets: Sequence[Path],
    *,
    seed: int = 42,
    ticks: Ticks = no_ticks,
    resamples: int = RESAMPLES,
    ablation: bool = False,
    transactions: bool = False,
    verify: bool = True,
    out: Path | None = None,
    registry: Registry | None = None,
    experiment: str = "flowrisk-benchmark",
) -> BenchmarkResult:
    """flowrisk, flowrisk plus graph features, the raw-aggregates and the Snap ML graph
    baselines on each of ``datasets``, each on its own entity-and-time split (``transactions``:
    also the AMLworld transaction-level protocol where there are transaction labels); with
    ``verify``, each dataset's files are checked against its manifest's SHA-256 first. The
    Markdown goes to ``out`` (atomically) and, with a ``registry``, everything to MLflow."""
    from flowrisk.models.bench_report import benchmark_markdown

    if not datasets:
        raise InvalidParameter("datasets", "name at least one labelled dataset folder")
    if resamples < 1:  # refused before hours of work, not after
        raise InvalidParameter("resamples", f"must be at least 1, got {resamples}")
    names = dataset_names(datasets)
    overall = ticks("datasets")
    results: dict[str, dict[str, Any]] = {}
    for done, (name, dataset) in enumerate(zip(names, datasets, strict=True)):
        overall(done, len(datasets))

        def named(description: str, prefix: str = name) -> Tick:
            return ticks(f"{prefix}: {description}")

        results[name] = _one(
            Path(dataset),
            seed=seed,
            ticks=named,
            resamples=resamples,
            ablation=ablation,
            transactions=transactions,
            verify=verify,
        )
    overall(len(datasets), len(datasets))
    markdown = benchmark_markdown(results)
    if out is not None:
        with replace_file_atomically(out) as staged:
            staged.write_text(markdown, encoding="utf-8")
    run_id = None
    if registry is not None:
        params = {
            "datasets": ",".join(str(Path(d).resolve()) for d in datasets),
            "seed": seed,
            "resamples": resamples,
            "family_ablation": ablation,
            "transaction_level": transactions,
        }
        run_id = _log(registry, experiment, results, markdown, params)
    return BenchmarkResult(results, markdown, run_id)
