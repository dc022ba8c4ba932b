"""The hyperparameter search: its budget and search space checks, the best trial and its JSON,
and a real search on the small session world (3 trials in a SQLite MLflow store): a parent
tune run with one nested run per trial, and best parameters that reproduce the best trial's
validation PR-AUC through ``fit_booster``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flowrisk import __version__
from flowrisk.errors import InvalidParameter
from flowrisk.features import FEATURE_SET_VERSION, feature_names
from flowrisk.io import dataset_digest
from flowrisk.models.dataset import Split
from flowrisk.models.learner import (
    DEFAULT_PARAMS,
    OWN_PARAMS,
    RANGES,
    check_params,
    fit_booster,
    predict_best,
)
from flowrisk.models.registry import Registry
from flowrisk.models.train import design
from flowrisk.models.training_run import CURVE_METRIC, training_split
from flowrisk.models.tune import (
    BEST_ARTIFACT,
    SEARCH_SPACE,
    TrialResult,
    TuneResult,
    best_trial,
    search_params,
    write_params,
)
from flowrisk.models.tune_run import tune_dataset

TRIALS = 3
SEED = 4


def _trial(number: int, value: float | None, state: str = "complete") -> TrialResult:
    return TrialResult(number, state, value, {"num_leaves": 7 + number}, 10, 0.1)


def test_the_search_space_stays_within_the_learner_ranges_and_off_its_own_knobs() -> None:
    """Every searched knob is one a params file may set, both ends of its range are accepted,
    and the monotone constraints (catalog-driven) are not searched."""
    names = [k.name for k in SEARCH_SPACE]
    assert len(set(names)) == len(names) and not set(names) & OWN_PARAMS
    for knob in SEARCH_SPACE:
        assert knob.name in RANGES and knob.low < knob.high
        for end in (knob.low, knob.high):
            value = int(end) if knob.integer else float(end)
            assert check_params({knob.name: value}) == {knob.name: value}
    draws = {k.name: k.draw(DEFAULT_PARAMS.get(k.name, 0.0)) for k in SEARCH_SPACE}
    assert draws["num_leaves"] == DEFAULT_PARAMS["num_leaves"]
    assert draws["lambda_l1"] == 1e-8  # flowrisk's L1 of 0 is the floor of the log range...


def test_trial_zero_fits_exactly_flowrisks_defaults() -> None:
    """...and a zero floor fits as 0: trial 0 is the model `flowrisk train` fits by default (a
    penalty of 1e-8 instead of 0 changes LightGBM's trees)."""
    import optuna

    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({k.name: k.draw(DEFAULT_PARAMS.get(k.name, 0.0)) for k in SEARCH_SPACE})
    trial = study.ask()
    fitted = {k.name: k.suggest(trial) for k in SEARCH_SPACE}
    expected = {k.name: DEFAULT_PARAMS.get(k.name, 0.0) for k in SEARCH_SPACE}
    assert fitted == expected and fitted["lambda_l1"] == 0.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"num_leaves": 1}, "'num_leaves' must be an integer from 2"),
        ({"num_leaves": 15.5}, "'num_leaves' must be an integer"),
        ({"max_leaves": True}, "'max_leaves' must be an integer"),
        ({"learning_rate": 0}, "'learning_rate' must be a number above 0"),
        ({"feature_fraction": 1.5}, "'feature_fraction' must be a number above 0 and at most 1"),
        ({"reg_alpha": -1.0}, "'reg_alpha' must be a number of at least 0"),
        ({"max_depth": 0}, "'max_depth' must be -1 (no limit)"),
        ({"min_child_samples": 10, "min_data_in_leaf": 5}, "are the same LightGBM parameter"),
        ({"random_state": 3}, "'random_state' is set by flowrisk"),
    ],
)
def test_out_of_range_and_duplicate_params_are_refused_by_name(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParameter, match="params") as caught:
        check_params(params)
    assert message in str(caught.value)


def test_aliases_become_main_names_so_they_override_the_defaults() -> None:
    """LightGBM keeps the main name when both are given: an alias beside a default of the same
    parameter would be ignored without a word."""
    assert check_params({"min_child_samples": 50, "colsample_bytree": 0.5}) == {
        "min_data_in_leaf": 50,
        "feature_fraction": 0.5,
    }


def test_a_budget_of_no_trials_or_no_time_is_refused() -> None:
    empty = Split(pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
    with pytest.raises(InvalidParameter, match="trials"):
        search_params(empty, trials=0)
    with pytest.raises(InvalidParameter, match="timeout"):
        search_params(empty, trials=2, timeout=0)


def test_the_best_trial_is_the_highest_complete_one_and_ranks_first(tmp_path: Path) -> None:
    trials = [
        _trial(0, 0.7),
        _trial(1, 0.9, "pruned"),
        _trial(2, 0.8),
        _trial(3, 0.8),
        _trial(4, None, "fail"),
    ]
    best = best_trial(trials)
    assert best.number == 2  # pruned values do not count; the earliest wins a tie
    result = TuneResult("run", best, trials, tmp_path / "best.json")
    assert [t.number for t in result.ranked(4)] == [2, 3, 0, 1]


def test_best_params_are_written_in_one_rename(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "best.json"
    write_params({"num_leaves": 15, "learning_rate": 0.1}, out)
    assert json.loads(out.read_text(encoding="utf-8")) == {"learning_rate": 0.1, "num_leaves": 15}
    assert [p.name for p in out.parent.iterdir()] == ["best.json"]  # no partial file left
    with pytest.raises(InvalidParameter, match="out"):
        write_params({"num_leaves": 15}, out / "inside-a-file.json")


class _Pruned(Exception):
    pass


def test_the_learner_reports_each_round_and_a_report_can_stop_the_fit() -> None:
    """What the pruner hears: each round's validation average precision, the last one being the
    booster's own; raising from the report ends the fit (a pruned trial)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1_500, 3))
    y = (x[:, 0] + rng.normal(scale=0.5, size=1_500) > 1.5).astype(np.int8)
    names = ["a", "b", "c"]
    heard: list[tuple[int, float]] = []
    booster = fit_booster(
        x[:1_000],
        y[:1_000],
        x[1_000:],
        y[1_000:],
        names=names,
        seed=1,
        report=lambda r, v: heard.append((r, v)),
    )
    assert [r for r, _ in heard] == list(range(1, len(heard) + 1))
    best = booster.best_score["valid_0"]["average_precision"]
    assert heard[booster.best_iteration - 1][1] == pytest.approx(best)

    def stop(round_: int, _: float) -> None:
        if round_ == 5:
            raise _Pruned

    with pytest.raises(_Pruned):
        fit_booster(x[:1_000], y[:1_000], x[1_000:], y[1_000:], names=names, seed=1, report=stop)


@dataclass(frozen=True)
class Tuned:
    result: TuneResult
    split: Split
    tracking_uri: str


@pytest.fixture(scope="module")
def tuned(small_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Tuned:
    """A 3-trial search on the small session world in a SQLite store of its own."""
    from flowrisk.io import read_labelled

    home = tmp_path_factory.mktemp("tune")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    result = tune_dataset(
        small_world_dir,
        registry=Registry(uri, home / "artifacts"),
        trials=TRIALS,
        out=home / BEST_ARTIFACT,
        experiment="tune-test",
        seed=SEED,
        verify=False,
    )
    frames, labels, _ = read_labelled(small_world_dir, "training", verify=False)
    return Tuned(result, training_split(frames, labels)[2], uri)


@pytest.mark.slow
def test_each_trial_is_a_nested_run_of_one_tune_run(tuned: Tuned, small_world_dir: Path) -> None:
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tuned.tracking_uri)
    experiment = client.get_experiment_by_name("tune-test")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [p.info.run_id for p in parents] == [tuned.result.run_id]
    parent = parents[0]
    assert parent.data.tags["flowrisk.kind"] == "tune"
    # the conventions of a training run: name, tags, datasets (never the test rows)
    label = small_world_dir.name
    assert parent.info.run_name.startswith(f"tune {label} ")
    digest = dataset_digest(small_world_dir)
    for key, value in {
        "flowrisk.version": __version__,
        "flowrisk.dataset": label,
        "flowrisk.dataset_digest": digest,
        "flowrisk.feature_set_version": FEATURE_SET_VERSION,
    }.items():
        assert parent.data.tags[key] == value, key
    contexts = {
        t.value
        for i in parent.inputs.dataset_inputs
        for t in i.tags
        if t.key == "mlflow.data.context"
    }
    assert contexts == {"training", "validation"}
    assert parent.data.params["trials"] == str(TRIALS)
    assert parent.data.metrics["best_valid_pr_auc"] == pytest.approx(tuned.result.best.value)
    children = {
        int(r.data.tags["flowrisk.trial"]): r
        for r in runs
        if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    }
    assert sorted(children) == list(range(TRIALS)) == [t.number for t in tuned.result.trials]
    for trial in tuned.result.trials:
        run = children[trial.number]
        assert run.data.params == {k: str(v) for k, v in trial.params.items()}
        assert set(run.data.params) == {k.name for k in SEARCH_SPACE}
        assert run.data.metrics["seconds"] == pytest.approx(trial.seconds) and trial.seconds > 0
        if trial.state == "complete":
            assert run.data.metrics["valid_pr_auc"] == pytest.approx(trial.value)
        assert run.info.run_name.startswith(f"trial {trial.number} {label} ")
        assert run.data.tags["flowrisk.kind"] == "trial"
        assert run.data.tags["flowrisk.dataset_digest"] == digest
        assert run.data.tags["flowrisk.version"] == __version__
        took = run.info.end_time - run.info.start_time
        assert took == pytest.approx(trial.seconds * 1000, abs=2)  # the trial's own times
        curve = client.get_metric_history(run.info.run_id, CURVE_METRIC)
        assert sorted(m.step for m in curve) == list(range(1, trial.rounds + 1))
        assert [m.value for m in sorted(curve, key=lambda m: m.step)] == pytest.approx(trial.curve)
    first = tuned.result.trials[0].params  # trial 0: flowrisk's defaults
    assert first == {k.name: DEFAULT_PARAMS.get(k.name, 0.0) for k in SEARCH_SPACE}
    logged = mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/{BEST_ARTIFACT}")
    assert logged == tuned.result.best.params


@pytest.mark.slow
def test_the_best_json_reproduces_the_best_trial_through_fit_booster(tuned: Tuned) -> None:
    """The written parameters pass the learner's checks unchanged and, on the same split and
    seed, give the best trial's validation PR-AUC again (the search never saw the test rows)."""
    from sklearn.metrics import average_precision_score

    best = json.loads(tuned.result.out.read_text(encoding="utf-8"))
    assert best == tuned.result.best.params and check_params(best) == best
    names = feature_names()
    x_train, y_train = design(tuned.split.train, names)
    x_valid, y_valid = design(tuned.split.valid, names)
    booster = fit_booster(x_train, y_train, x_valid, y_valid, names=names, seed=SEED, params=best)
    value = average_precision_score(y_valid, predict_best(booster, x_valid))
    assert value == pytest.approx(tuned.result.best.value, abs=1e-12)
    assert tuned.result.split == tuned.split.describe()
    assert all(np.isfinite(t.value) for t in tuned.result.trials if t.value is not None)
