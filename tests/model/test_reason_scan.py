"""Reasons that read true, scanned as a reader would: every alerted entity of a generated world
and a sample of the others, on the default world and on a subtle one (schemes at 40 % of their
strength, a quarter of the prevalence); and the scanner itself catches hand-made bad reasons."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from flowrisk.features import build_profiles, catalog, fit_baselines
from flowrisk.io import read_dataset
from flowrisk.models import fit_model, snapshots, split_snapshots
from flowrisk.models.batch import explain_entities
from flowrisk.models.explain import contributions
from flowrisk.models.reasons import references, risky_gap
from flowrisk.models.scorer import RiskModel
from flowrisk.schema import ALERT_BANDS
from flowrisk.synth import WorldParams, generate_world
from tests.conftest import TRAIN_DATES, TrainedWorld
from tests.model.reason_scan import scan, scan_entity

OTHERS = 150  # entities below the alert bands explained beside every alerted one


def _reason(feature: str, direction: str, value: float, baseline: float | None, **kw: Any) -> dict:
    f = {g.name: g for g in catalog()}[feature]
    return {
        "family": f.family,
        "feature": feature,
        "direction": direction,
        "contribution": 0.5 if direction == "raises" else -0.5,
        "value": value,
        "baseline": baseline,
        "baseline_kind": kw.pop("baseline_kind", "peer median"),
        "text": kw.pop("text", f.render(value, baseline)),
        "evidence": kw.pop("evidence", []),
        **kw,
    }


def _entity(*reasons: dict, flags: tuple[str, ...] = ()) -> dict:
    return {
        "entity_id": "E1",
        "reasons": list(reasons),
        "red_flags": [{"flag": "f", "family": "cash", "text": t, "evidence": []} for t in flags],
    }


def test_a_reason_that_reads_true_passes() -> None:
    good = _entity(
        _reason("cash_deposit_count_90d", "raises", 36, 0, evidence=["txn:1"]),
        _reason("flow_median_hold_hours_90d", "raises", 2, 40, evidence=["txn:2"]),
        _reason("cash_deposit_count_90d", "lowers", 0, 0),
        _reason("timing_burstiness_90d", "raises", -0.2, 0.1),  # no direction: no side
        _reason("biz_cash_share_z_365d", "raises", 2.1, 0.4, baseline_kind="sector median"),
        flags=("1 transfer (928 EUR) with high-risk jurisdictions: KP",),
    )
    assert scan_entity(good) == []


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (
            _reason("flow_new_payer_share_90d", "raises", 0.87, 0.93),
            "raises the score from the honest",
        ),
        (_reason("cash_deposit_count_90d", "raises", 0, 0), "raises the score from the honest"),
        (_reason("cash_deposit_count_90d", "lowers", 36, 0), "lowers the score from the risky"),
        (_reason("biz_age_years", "raises", 9.0, 4.0), "raises the score from the honest"),
        (
            _reason("biz_cash_share_z_365d", "raises", -1.2, 0.4, baseline_kind="sector median"),
            "raises the score from the honest",
        ),
        (
            _reason(
                "flow_new_payer_share_90d",
                "raises",
                0.87,
                0.93,
                text="87% of payers are new; raises the score only in combination with",
            ),
            "names no partner",
        ),
        (_reason("reports_count_365d", "raises", 1, 0, text="1 reports received"), "plural noun"),
        (_reason("cash_deposit_count_90d", "raises", 3, 0, contribution=1e-05), "contribution"),
        (_reason("cash_deposit_sum_90d", "raises", 1.5e7, 0, text="1.5e+07 EUR"), "scientific"),
        (
            _reason("geo_distinct_countries_365d", "raises", 1, 0, text="with 1 different country"),
            "'1 different'",
        ),
    ],
)
def test_the_scanner_catches_a_bad_reason(reason: dict, expected: str) -> None:
    problems = scan_entity(_entity(reason))
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_reason_phrased_as_an_interaction_passes() -> None:
    text = "87% of payers are new; raises the score only in combination with: 81% cash inflows"
    reason = _reason("flow_new_payer_share_90d", "raises", 0.87, 0.93, text=text)
    assert scan_entity(_entity(reason)) == []


def test_the_scanner_catches_shared_evidence_and_bad_red_flags() -> None:
    shared = _entity(
        _reason("geo_high_risk_share_365d", "raises", 0.2, 0, evidence=["txn:1", "txn:2"]),
        _reason("geo_high_risk_count_365d", "raises", 21, 0, evidence=["txn:2"]),
        flags=("1 transfers (928 EUR) with high-risk jurisdictions: KP", "in 1 month(s)"),
    )
    problems = scan_entity(shared)
    assert len(problems) == 3
    assert "txn:2 is evidence of both geo_high_risk_share_365d" in problems[0]
    assert "'1 transfers'" in problems[1] and "plural left open" in problems[2]


def _exercised(model: RiskModel, profiles: pl.DataFrame) -> int:
    """How many of the entities' five strongest raw raises sit on the honest side of their
    peers' median: the cases the explainer must leave out (sector z-scores aside)."""
    features = [{f.name: f for f in catalog()}[n] for n in model.features]
    values = profiles.select(model.features).to_numpy().astype(np.float64)
    kinds = profiles["entity_type"].to_list()
    gap = risky_gap(
        features, values, references(model, features, kinds, np.zeros_like(values, bool))
    )
    c = contributions(model, profiles)[:, :-1]
    top = np.argsort(-c, axis=1)[:, :5]
    rows = np.arange(len(c))[:, None]
    return int(((c[rows, top] > 0) & (gap[rows, top] <= 0)).sum())


def _scan_world(
    frames: dict[str, pl.LazyFrame], as_of: datetime, model: RiskModel, baselines: Any
) -> tuple[list[str], pl.DataFrame, int]:
    """Problems in the explanations of every alerted entity and a sample of the others."""
    profiles = build_profiles(frames, as_of, baselines).collect()
    alerted = model.score(profiles)["band"].cast(pl.String).is_in(ALERT_BANDS)
    chosen = pl.concat([profiles.filter(alerted), profiles.filter(~alerted).sample(OTHERS, seed=0)])
    out = explain_entities(frames, chosen, as_of, model, baselines)
    return scan(out.iter_rows(named=True)), out, _exercised(model, chosen)


def _check(problems: list[str], out: pl.DataFrame, exercised: int) -> None:
    assert problems == [], f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:10])
    reasons = out.explode("reasons").unnest("reasons").drop_nulls("feature")
    alerted = out.filter(pl.col("band").cast(pl.String).is_in(ALERT_BANDS))
    assert alerted.height >= 20 and reasons.height >= 5 * out.height
    assert exercised > 0  # the world holds raises from the honest side that had to go


def test_the_default_world_reads_true(trained_world: TrainedWorld) -> None:
    t = trained_world
    _check(*_scan_world(t.frames, t.as_of, t.model, t.baselines))


@pytest.fixture(scope="module")
def subtle_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    """A 10,000-entity subtle world (``benchmarks/train_eval.py --prevalence-scale 0.25
    --intensity-scale 0.4``) and a model trained on it as ``trained_world`` is."""
    base = WorldParams(entities=10_000, seed=8)
    params = base.with_overrides(
        prevalence={n: t.prevalence * 0.25 for n, t in base.typologies.items()},
        intensity={n: t.intensity * 0.4 for n, t in base.typologies.items()},
    )
    folder: Path = tmp_path_factory.mktemp("subtle_world")
    generate_world(params, folder)
    frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
    labels = pl.read_parquet(folder / "labels.parquet")
    baselines = fit_baselines(frames, TRAIN_DATES[0])
    split = split_snapshots(snapshots(frames, labels, TRAIN_DATES, baselines), seed=1)
    model, _ = fit_model(split, seed=2)
    return frames, TRAIN_DATES[-1], model, baselines


@pytest.mark.slow
def test_the_subtle_world_reads_true(subtle_world: tuple[Any, ...]) -> None:
    _check(*_scan_world(*subtle_world))
