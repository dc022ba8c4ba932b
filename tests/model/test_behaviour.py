"""Behavioral tests of a trained model: it reacts to laundering, not to names or honest pay."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from flowrisk.features import Baselines, build_profiles, frames_for_entities
from flowrisk.models import RiskModel
from flowrisk.synth import REGISTRY
from tests.conftest import TRAIN_DATES, TRAINED_WORLD, TrainedWorld
from tests.model.inject import inject

AS_OF = TRAIN_DATES[-1]


@pytest.fixture(scope="module")
def setup(
    trained_world: TrainedWorld,
) -> tuple[dict[str, pl.LazyFrame], Baselines, RiskModel, list[str]]:
    t = trained_world
    honest = (
        t.labels.filter(pl.col("label") == 0)
        .join(
            t.frames["entities"]
            .collect()
            .filter((pl.col("entity_type") == "person") & (pl.col("declared_income") > 20_000)),
            on="entity_id",
        )
        .sort("entity_id")
        .head(30)["entity_id"]
        .to_list()
    )
    return t.frames, t.baselines, t.model, honest


def _score(
    frames: dict[str, pl.LazyFrame], baselines: Baselines, model: RiskModel, entity: str
) -> float:
    sub = frames_for_entities(frames, [entity], AS_OF)
    profile = build_profiles(sub, AS_OF, baselines, entities=[entity]).collect()
    return float(model.predict(profile)[0])


def _add(frames: dict[str, pl.LazyFrame], rows: list[dict]) -> dict[str, pl.LazyFrame]:
    tx = frames["transactions"].collect()
    start = int(tx["txn_id"].max()) + 1
    extra = pl.DataFrame([{**r, "txn_id": start + i} for i, r in enumerate(rows)], schema=tx.schema)
    return {**frames, "transactions": pl.concat([tx, extra]).lazy()}


def _primary(frames: dict[str, pl.LazyFrame], entity: str) -> str:
    return (
        frames["accounts"]
        .filter(pl.col("entity_id") == entity)
        .sort("account_id")
        .collect()["account_id"][0]
    )


def test_structuring_raises_the_score(
    setup: tuple[dict[str, pl.LazyFrame], Baselines, RiskModel, list[str]],
) -> None:
    frames, baselines, model, honest = setup
    raised = 0
    rng = np.random.default_rng(0)
    for entity in honest:
        before = _score(frames, baselines, model, entity)
        account = _primary(frames, entity)
        rows = []
        for month in range(3):  # three months of cash kept just under 10,000 EUR
            for k in range(4):
                rows.append(
                    {
                        "ts": AS_OF - timedelta(days=5 + 30 * month + 6 * k, hours=3),
                        "src_account_id": None,
                        "dst_account_id": account,
                        "amount": 2_370.0 + 10 * k,
                        "channel": "cash",
                        "currency_original": "EUR",
                        "branch_id": f"BR{int(rng.integers(0, 400)):04d}",
                    }
                )
        after = _score(_add(frames, rows), baselines, model, entity)
        raised += after > before
    assert raised >= 0.8 * len(honest), f"only {raised} of {len(honest)} scores went up"


def _scores(
    frames: dict[str, pl.LazyFrame], baselines: Baselines, model: RiskModel, ids: list[str]
) -> np.ndarray:
    sub = frames_for_entities(frames, ids, AS_OF)
    profiles = build_profiles(sub, AS_OF, baselines, entities=ids).collect()
    order = {e: i for i, e in enumerate(profiles["entity_id"])}
    return np.asarray(model.predict(profiles))[[order[e] for e in ids]]


# With the short-window typologies on by default and no motif family yet, a gather-scatter
# scheme raises 11 of 20 scores by a thousandth or so: the motif family is what should see it.
GAP = {"gather_scatter": "no feature family sees gather-scatter yet (motif family)"}


@pytest.mark.parametrize(
    "typology",
    [
        pytest.param(t.name, marks=pytest.mark.xfail(strict=True, reason=GAP[t.name]))
        if t.name in GAP
        else t.name
        for t in REGISTRY
        if TRAINED_WORLD.typologies[t.name].prevalence > 0
    ],
)
def test_injecting_each_typology_into_honest_entities_raises_their_score(
    trained_world: TrainedWorld, typology: str
) -> None:
    """The generator's own planner and injector give honest entities of the trained world a
    scheme that started at least a month before the scoring date: most of their scores rise,
    and on average they rise. Every typology the trained world carries (a model cannot learn
    one it never saw labelled)."""
    t = trained_world
    before_s = int((AS_OF - timedelta(days=30)).timestamp())
    injected = inject(TRAINED_WORLD, t.frames, t.labels, typology, k=36, seed=3, before_s=before_s)
    ids = injected.entities[:20]
    assert len(ids) >= 5, f"{typology}: only {len(ids)} honest members injected"
    before = _scores(t.frames, t.baselines, t.model, ids)
    after = _scores(injected.frames, t.baselines, t.model, ids)
    rise = after - before
    print(
        f"\n{typology}: {int((rise > 0).sum())} of {len(ids)} scores rose, mean "
        f"{before.mean():.3f} -> {after.mean():.3f}"
    )
    assert (rise > 0).mean() >= 0.6 and rise.mean() > 0, dict(zip(ids, rise.round(3), strict=True))


def test_renaming_ids_leaves_the_score(
    setup: tuple[dict[str, pl.LazyFrame], Baselines, RiskModel, list[str]],
) -> None:
    frames, baselines, model, honest = setup
    entity = honest[0]
    before = _score(frames, baselines, model, entity)
    accounts = frames["accounts"].filter(pl.col("entity_id") == entity).collect()["account_id"]
    mapping = {a: f"RENAMED-{a}" for a in accounts}
    renamed = {
        **frames,
        "entities": frames["entities"].with_columns(
            pl.col("entity_id").replace(entity, "RENAMED-E")
        ),
        "accounts": frames["accounts"].with_columns(
            pl.col("account_id").replace(mapping), pl.col("entity_id").replace(entity, "RENAMED-E")
        ),
        "transactions": frames["transactions"].with_columns(
            pl.col("src_account_id").replace(mapping), pl.col("dst_account_id").replace(mapping)
        ),
    }
    for name in ("assets", "reports"):
        renamed[name] = frames[name].with_columns(pl.col("entity_id").replace(entity, "RENAMED-E"))
    renamed["ownership"] = frames["ownership"].with_columns(
        pl.col("owner_entity_id").replace(entity, "RENAMED-E"),
        pl.col("owned_entity_id").replace(entity, "RENAMED-E"),
    )
    assert _score(renamed, baselines, model, "RENAMED-E") == pytest.approx(before, abs=1e-12)


def test_honest_salary_does_not_raise_the_score(
    setup: tuple[dict[str, pl.LazyFrame], Baselines, RiskModel, list[str]],
) -> None:
    frames, baselines, model, honest = setup
    employer = (
        frames["accounts"]
        .filter(pl.col("account_type") == "external")
        .sort("account_id")
        .collect()["account_id"][0]
    )
    rises = {}
    for entity in honest:
        before = _score(frames, baselines, model, entity)
        income = (
            frames["entities"].filter(pl.col("entity_id") == entity).collect()["declared_income"][0]
        )
        account = _primary(frames, entity)
        rows = [
            {
                "ts": AS_OF - timedelta(days=3 + 30 * m),
                "src_account_id": employer,
                "dst_account_id": account,
                "amount": round(income * 0.78 / 12 * 0.25, 2),
                "channel": "wire",
                "currency_original": "EUR",
                "branch_id": None,
            }
            for m in range(6)
        ]  # a second job paying a quarter of the main salary
        rises[entity] = _score(_add(frames, rows), baselines, model, entity) - before
    assert max(rises.values()) <= 0.01, f"honest pay raised scores: {rises}"


def test_raising_a_riskier_when_higher_feature_never_lowers_the_score(
    trained_world: TrainedWorld,
) -> None:
    """For features whose catalog direction is "higher is riskier" (and "lower is riskier"),
    moving the value the risky way never lowers any entity's score: the learner constrains
    each feature by its direction."""
    from flowrisk.features import catalog

    t = trained_world
    profiles = build_profiles(t.frames, AS_OF, t.baselines).collect().head(400)
    before = t.model.predict(profiles)
    directed = [f for f in catalog() if f.direction != 0 and f.name in t.model.features]
    assert len(directed) >= 10
    for f in directed:
        col = pl.col(f.name)
        step = (col.abs() * 0.5 + 1.0) * f.direction
        after = t.model.predict(profiles.with_columns((col + step).alias(f.name)))
        assert (after >= before - 1e-12).all(), f"raising {f.name} lowered a score"
