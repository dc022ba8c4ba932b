"""A hyperparameter search for flowrisk's learner with Optuna: a seeded TPE sampler over the
learner's main knobs (:data:`SEARCH_SPACE`; the monotone constraints stay the catalog's), each
trial an early-stopped :func:`~flowrisk.models.learner.fit_booster` on the train split of
``flowrisk train``, scored by validation PR-AUC and pruned at the median; the held-out test
split is never read. :func:`search_params` is the search;
:mod:`flowrisk.models.tune_run` is the edge that reads a dataset and logs the search in MLflow."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowrisk.errors import InvalidParameter
from flowrisk.features import feature_names
from flowrisk.io import replace_file_atomically
from flowrisk.models.dataset import Split
from flowrisk.models.learner import DEFAULT_PARAMS, EARLY_STOPPING, fit_booster, predict_best
from flowrisk.models.train import check_positives, design

if TYPE_CHECKING:
    import optuna

__all__ = [
    "BEST_ARTIFACT",
    "SEARCH_SPACE",
    "Knob",
    "TrialResult",
    "TuneResult",
    "best_trial",
    "check_budget",
    "search_params",
    "write_params",
]

BEST_ARTIFACT = "best-params.json"  # the best trial's parameters in the tune run's artifacts
PRUNE_AFTER_TRIALS = 5  # trials that run to the end before the median pruner judges others
PRUNE_AFTER_ROUNDS = EARLY_STOPPING  # rounds a trial always gets before it can be pruned
PRUNE_EVERY = 10  # rounds between two pruning checks

Step = Callable[[str], None]
TrialTick = Callable[[int, int | None], None]  # (trials done, trials asked or None)


@dataclass(frozen=True)
class Knob:
    """One searched LightGBM parameter (its main name) and its range, inclusive; with
    ``floor_is_zero`` the low end of a log range stands for 0 (which a log scale cannot reach),
    so that a penalty can be switched off as flowrisk's defaults do."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False
    floor_is_zero: bool = False

    def suggest(self, trial: optuna.Trial) -> int | float:
        """The value a trial fits with (the sampler's draw, 0 at a zero floor)."""
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        value = trial.suggest_float(self.name, self.low, self.high, log=self.log)
        return 0.0 if self.floor_is_zero and value <= self.low else value

    def draw(self, value: float) -> int | float:
        """The sampler's draw that fits ``value`` (a value outside the range: its nearest end)."""
        kept = min(max(value, self.low), self.high)
        return round(kept) if self.integer else float(kept)


# depth at most 10: exact TreeSHAP explanations slow down steeply with deeper trees
SEARCH_SPACE: tuple[Knob, ...] = (
    Knob("num_leaves", 7, 127, log=True, integer=True),
    Knob("max_depth", 3, 10, integer=True),
    Knob("learning_rate", 0.01, 0.3, log=True),
    Knob("min_data_in_leaf", 5, 200, log=True, integer=True),
    Knob("feature_fraction", 0.4, 1.0),
    Knob("bagging_fraction", 0.4, 1.0),
    Knob("lambda_l1", 1e-8, 10.0, log=True, floor_is_zero=True),
    Knob("lambda_l2", 1e-8, 10.0, log=True, floor_is_zero=True),
)


@dataclass(frozen=True)
class TrialResult:
    """One finished trial: its parameters, validation PR-AUC (the last one heard when it was
    pruned), the rounds it ran, how long it took, when it started (epoch seconds) and its
    validation curve (average precision after each round; not in ``trials.json``)."""

    number: int
    state: str  # complete, pruned or fail
    value: float | None
    params: dict[str, Any]
    rounds: int
    seconds: float
    started: float = 0.0
    curve: tuple[float, ...] = field(default=(), repr=False)

    def summary(self) -> dict[str, Any]:
        """The trial as ``trials.json`` lists it (without its curve)."""
        return {k: v for k, v in asdict(self).items() if k != "curve"}


@dataclass
class TuneResult:
    """What a data scientist reads after a search."""

    run_id: str
    best: TrialResult
    trials: list[TrialResult]
    out: Path
    split: dict[str, dict[str, int]] = field(default_factory=dict)
    dates: list[str] = field(default_factory=list)

    def ranked(self, top: int = 5) -> list[TrialResult]:
        """The ``top`` trials by validation PR-AUC, best first (pruned and failed ones last)."""
        order = sorted(
            self.trials, key=lambda t: (t.state != "complete", -(t.value or 0.0), t.number)
        )
        return order[:top]


def check_budget(trials: int, timeout: float | None) -> None:
    if trials < 1:
        raise InvalidParameter("trials", f"must be at least 1, got {trials}")
    if timeout is not None and timeout <= 0:
        raise InvalidParameter("timeout", f"must be above 0 seconds, got {timeout}")


def _objective(split: Split, seed: int) -> Callable[[optuna.Trial], float]:
    """Validation PR-AUC of one trial's early-stopped fit, reporting every
    :data:`PRUNE_EVERY` rounds to the pruner."""
    import optuna
    from sklearn.metrics import average_precision_score

    names = feature_names()
    x_train, y_train = design(split.train, names)
    x_valid, y_valid = design(split.valid, names)

    def objective(trial: optuna.Trial) -> float:
        params = {knob.name: knob.suggest(trial) for knob in SEARCH_SPACE}
        trial.set_user_attr("params", params)  # what is fitted (a zero floor is 0, not its draw)
        rounds = [0]
        curve: list[float] = []

        def report(round_: int, value: float) -> None:
            rounds[0] = round_
            curve.append(value)
            if round_ % PRUNE_EVERY == 0:
                trial.report(value, round_)
                if trial.should_prune():
                    trial.set_user_attr("rounds", round_)
                    trial.set_user_attr("curve", list(curve))
                    raise optuna.TrialPruned()

        booster = fit_booster(
            x_train, y_train, x_valid, y_valid, names=names, seed=seed, params=params, report=report
        )
        trial.set_user_attr("rounds", rounds[0])
        trial.set_user_attr("curve", list(curve))
        return float(average_precision_score(y_valid, predict_best(booster, x_valid)))

    return objective


def _result(trial: optuna.trial.FrozenTrial) -> TrialResult:
    value = trial.value
    if value is None and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    seconds = trial.duration.total_seconds() if trial.duration is not None else 0.0
    started = trial.datetime_start.timestamp() if trial.datetime_start is not None else 0.0
    return TrialResult(
        number=trial.number,
        state=trial.state.name.lower(),
        value=None if value is None else float(value),
        params=dict(trial.user_attrs.get("params", trial.params)),
        rounds=int(trial.user_attrs.get("rounds", 0)),
        seconds=seconds,
        started=started,
        curve=tuple(float(v) for v in trial.user_attrs.get("curve", ())),
    )


def _run_study(
    split: Split,
    *,
    trials: int,
    timeout: float | None,
    seed: int,
    on_trial: Callable[[TrialResult], None] | None,
) -> list[TrialResult]:
    """The seeded study of :func:`search_params`, trial 0 being flowrisk's defaults."""
    import optuna

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=PRUNE_AFTER_TRIALS,
            n_warmup_steps=PRUNE_AFTER_ROUNDS,
            interval_steps=PRUNE_EVERY,
        ),
    )
    study.enqueue_trial({k.name: k.draw(DEFAULT_PARAMS.get(k.name, 0.0)) for k in SEARCH_SPACE})
    done: list[TrialResult] = []

    def heard(_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done.append(_result(trial))
        if on_trial is not None:
            on_trial(done[-1])

    study.optimize(_objective(split, seed), n_trials=trials, timeout=timeout, callbacks=[heard])
    return done


def search_params(
    split: Split,
    *,
    trials: int,
    timeout: float | None = None,
    seed: int = 42,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> list[TrialResult]:
    """Search :data:`SEARCH_SPACE` on ``split``'s train and validation rows (never its test
    rows) for at most ``trials`` trials or ``timeout`` seconds; trial 0 is flowrisk's defaults, so
    the best is never worse on validation than ``flowrisk train`` without ``--params``.
    ``on_trial`` hears each trial as it ends. Seeded: the same split, seed and number of trials
    give the same trials (a timeout may cut them short)."""
    import optuna

    check_budget(trials, timeout)
    check_positives(split)
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its lines per trial would bury ours
    try:
        done = _run_study(split, trials=trials, timeout=timeout, seed=seed, on_trial=on_trial)
    finally:
        optuna.logging.set_verbosity(before)
    if not any(t.state == "complete" for t in done):
        raise InvalidParameter("trials", "no trial completed; give the search more time")
    return done


def best_trial(trials: list[TrialResult]) -> TrialResult:
    """The completed trial of the highest validation PR-AUC (the earliest on a tie)."""
    complete = [t for t in trials if t.state == "complete" and t.value is not None]
    return max(complete, key=lambda t: (t.value, -t.number))


def write_params(params: Mapping[str, Any], out: Path) -> Path:
    """``params`` as a flat JSON table at ``out``, replaced in one rename."""
    with replace_file_atomically(out) as staged:
        staged.write_text(json.dumps(dict(params), indent=2, sort_keys=True) + "\n", "utf-8")
    return out
