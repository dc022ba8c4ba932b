"""The edge of ``flowrisk tune``: reads a dataset, runs :func:`~flowrisk.models.tune.search_params`
on the split of ``flowrisk train``, logs one tune run with a nested run per trial and writes the
best parameters as JSON for ``flowrisk train --params``. The runs follow ``flowrisk train``'s
conventions (:mod:`flowrisk.models.tracking`): named after the dataset and the time, tagged with
flowrisk's version and commit, the dataset digest and the feature set, the training and
validation profiles logged as MLflow datasets, and each trial's validation curve round by
round, with the trial's own start and end times."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrisk.errors import ConfigError, InvalidParameter
from flowrisk.io import dataset_digest, dataset_label, read_labelled
from flowrisk.models.registry import Registry
from flowrisk.models.tracking import (
    CURVE_BATCH,
    log_datasets,
    run_name,
    run_tags,
    store_failures,
)
from flowrisk.models.train import check_positives
from flowrisk.models.training_run import CURVE_METRIC, dataset_params, training_split
from flowrisk.models.tune import (
    BEST_ARTIFACT,
    SEARCH_SPACE,
    Step,
    TrialResult,
    TrialTick,
    TuneResult,
    best_trial,
    check_budget,
    search_params,
    write_params,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["tune_dataset"]


@dataclass(frozen=True)
class _Parent:
    """The tune run trials are nested in, and what their names and tags repeat of it."""

    client: MlflowClient
    experiment_id: str
    run_id: str
    label: str  # the dataset's name in run names
    tags: dict[str, str]  # the tune run's tags; a trial's differ in kind and trial number


def _log_trial(parent: _Parent, trial: TrialResult) -> None:
    """One trial as a run nested in the tune run, created with the trial's own start and end
    times: its parameters, validation PR-AUC, rounds and seconds, and its validation curve
    (one point per round), sent in batches."""
    from mlflow.entities import Metric, Param

    started = int(trial.started * 1000) or int(time.time() * 1000)
    ended = started + int(trial.seconds * 1000)
    at = datetime.fromtimestamp(started / 1000, UTC)
    tags = {
        **parent.tags,
        "flowrisk.kind": "trial",
        "flowrisk.trial": str(trial.number),
        "flowrisk.trial_state": trial.state,
        "mlflow.parentRunId": parent.run_id,
    }
    run = parent.client.create_run(
        parent.experiment_id,
        start_time=started,
        tags=tags,
        run_name=run_name(f"trial {trial.number}", parent.label, at),
    )
    run_id = run.info.run_id
    metrics = {"seconds": trial.seconds, "rounds": float(trial.rounds)}
    if trial.value is not None:
        metrics["valid_pr_auc"] = trial.value
    parent.client.log_batch(
        run_id,
        metrics=[Metric(k, v, ended, 0) for k, v in metrics.items()],
        params=[Param(k, str(v)) for k, v in trial.params.items()],
    )
    step = trial.seconds * 1000 / max(len(trial.curve), 1)  # rounds spread over the trial
    points = [
        Metric(CURVE_METRIC, v, started + int(step * (i + 1)), i + 1)
        for i, v in enumerate(trial.curve)
    ]
    for first in range(0, len(points), CURVE_BATCH * 10):  # MLflow takes 1,000 per request
        parent.client.log_batch(run_id, metrics=points[first : first + CURVE_BATCH * 10])
    status = "FAILED" if trial.state == "fail" else "FINISHED"
    parent.client.set_terminated(run_id, status=status, end_time=ended)


def _search_params(
    dataset: Path, digest: str, trials: int, timeout: float | None, seed: int, dates: list[datetime]
) -> dict[str, Any]:
    """The tune run's parameters: the search budget, its seed and what it searched on."""
    return {
        "trials": trials,
        "timeout": timeout,
        "seed": seed,
        **dataset_params(dataset, digest, dates),
    }


def _log_outcome(best: TrialResult, done: list[TrialResult], seconds: float) -> None:
    """The best parameters, every trial's summary and the search's totals, in the tune run."""
    import mlflow

    mlflow.log_dict(best.params, BEST_ARTIFACT)
    mlflow.log_dict({"trials": [t.summary() for t in done]}, "trials.json")
    mlflow.log_metrics(
        {
            "best_valid_pr_auc": float(best.value or 0.0),
            "best_trial": float(best.number),
            "trials_complete": float(sum(t.state == "complete" for t in done)),
            "trials_pruned": float(sum(t.state == "pruned" for t in done)),
            "seconds": seconds,
        }
    )


def tune_dataset(
    dataset: Path,
    *,
    registry: Registry,
    trials: int,
    out: Path,
    experiment: str = "flowrisk-tune",
    timeout: float | None = None,
    seed: int = 42,
    step: Step | None = None,
    tick: TrialTick | None = None,
    verify: bool = True,
) -> TuneResult:
    """Search LightGBM parameters on ``dataset``'s snapshots and train/valid split (those of
    ``flowrisk train``), one parent MLflow run in ``experiment`` with a nested run per trial;
    the best trial's parameters go to ``out`` (JSON, for ``flowrisk train --params``) and into
    the parent run as :data:`BEST_ARTIFACT`."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    check_budget(trials, timeout)
    if out.is_dir():
        raise InvalidParameter("out", f"{out} is a folder; name the JSON file to write")
    say = step or (lambda _: None)
    say("connecting to MLflow")
    registry.ensure_experiment(experiment)  # fail before the slow work if the store is away
    frames, labels, _ = read_labelled(dataset, "training", verify=verify)
    label, digest = dataset_label(dataset), dataset_digest(dataset)
    tags = run_tags("tune", dataset=dataset, label=label, digest=digest)
    try:
        with registry.start_run(experiment, name=run_name("tune", label), tags=tags) as run_id:
            active = mlflow.active_run()
            assert active is not None
            parent = _Parent(
                MlflowClient(registry.tracking_uri),
                active.info.experiment_id,
                run_id,
                label,
                tags,
            )
            dates, _, split = training_split(frames, labels, say)
            check_positives(split)
            iso_dates = [d.date().isoformat() for d in dates]
            with store_failures(registry.tracking_uri):
                parts = {"training": split.train, "validation": split.valid}
                log_datasets(parts, dataset=dataset, label=label, digest=digest)
            say(f"searching parameters ({trials} trials)")
            mlflow.log_params(_search_params(dataset, digest, trials, timeout, seed, dates))
            mlflow.log_dict({k.name: asdict(k) for k in SEARCH_SPACE}, "search_space.json")
            started = time.monotonic()

            def heard(trial: TrialResult) -> None:
                _log_trial(parent, trial)
                if tick is not None:
                    tick(trial.number + 1, trials)

            done = search_params(split, trials=trials, timeout=timeout, seed=seed, on_trial=heard)
            best = best_trial(done)
            write_params(best.params, out)
            _log_outcome(best, done, time.monotonic() - started)
    except (MlflowException, OSError) as exc:
        raise ConfigError(f"MLflow at {registry.tracking_uri}: {str(exc).splitlines()[0]}") from exc
    return TuneResult(run_id, best, done, out, split.describe(), iso_dates)
