"""Explanations: exact contributions, reasons that name a value and a baseline, evidence that
exists in the dataset, and the same numbers as the scorer."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from flowrisk.features import build_profiles, catalog
from flowrisk.models.batch import explain_entities
from flowrisk.models.explain import contributions, format_value, reason_lines
from tests.conftest import TrainedWorld


@pytest.fixture(scope="module")
def explained(trained_world: TrainedWorld) -> tuple[pl.DataFrame, pl.DataFrame]:
    t = trained_world
    positives = t.labels.filter(pl.col("label") == 1)["entity_id"].head(60).to_list()
    others = t.labels.filter(pl.col("label") == 0)["entity_id"].head(140).to_list()
    profiles = build_profiles(t.frames, t.as_of, t.baselines, entities=positives + others)
    profiles = profiles.collect()
    return profiles, explain_entities(t.frames, profiles, t.as_of, t.model, t.baselines)


def test_contributions_add_up_to_the_raw_score(
    trained_world: TrainedWorld, explained: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    profiles, out = explained
    model = trained_world.model
    contrib = contributions(model, profiles)
    x = profiles.select(model.features).to_numpy().astype(np.float64)
    margin = np.asarray(model.booster.predict(x, raw_score=True, num_threads=1))
    np.testing.assert_allclose(contrib.sum(axis=1), margin, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["raw_log_odds"].to_numpy(), margin, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["bias"].to_numpy(), contrib[:, -1], rtol=0, atol=0)
    # the explained numbers are the scorer's own
    scored = model.score(profiles)
    assert out["probability"].to_list() == scored["probability"].to_list()
    assert out["band"].to_list() == scored["band"].to_list()


def test_every_reason_names_its_value_and_a_baseline(
    trained_world: TrainedWorld, explained: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    _, out = explained
    features = {f.name: f for f in catalog()}
    reasons = out.explode("reasons").unnest("reasons").drop_nulls("feature")
    assert reasons.height >= 5 * out.height  # five that raise, up to three that lower
    for r in reasons.iter_rows(named=True):
        f = features[r["feature"]]
        assert r["baseline"] is not None and r["baseline_kind"] in ("peer median", "sector median")
        if r["baseline_kind"] == "sector median":
            assert r["text"].startswith(f.render(r["value"], r["baseline"]))
        else:
            assert r["text"].startswith(f.render(r["value"]))
            assert f"median {format_value(r['baseline'], f.unit)}" in r["text"]
        assert (r["direction"] == "raises") == (r["contribution"] > 0)
        assert r["typology"] == f.typology


def test_evidence_ids_exist_in_the_dataset(
    trained_world: TrainedWorld, explained: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    _, out = explained
    frames = trained_world.frames
    ids = [
        *out.explode("red_flags").unnest("red_flags")["evidence"].explode().drop_nulls(),
        *out.explode("reasons").unnest("reasons")["evidence"].explode().drop_nulls(),
    ]
    assert len(ids) > 100
    kinds: dict[str, set[str]] = {}
    for item in ids:
        kind, _, key = item.partition(":")
        kinds.setdefault(kind, set()).add(key)
    assert set(kinds) <= {"txn", "asset", "report"} and "txn" in kinds
    known = {
        "txn": set(frames["transactions"].collect()["txn_id"].cast(pl.String)),
        "asset": set(frames["assets"].collect()["asset_id"]),
        "report": set(frames["reports"].collect()["report_id"]),
    }
    for kind, keys in kinds.items():
        assert keys <= known[kind], f"unknown {kind} ids: {sorted(keys - known[kind])[:5]}"


def test_tags_and_text_lines(explained: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, out = explained
    alerted = out.filter(pl.col("band").cast(pl.String).is_in(["high", "critical"]))
    assert alerted.height > 0 and all(len(t) >= 1 for t in alerted["tags"])
    lines = reason_lines(alerted.row(0, named=True))
    assert lines[0].startswith(alerted["entity_id"][0]) and any("+ [" in x for x in lines)


def test_a_reason_on_a_flagged_feature_carries_its_red_flag_evidence(
    explained: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """The catalog's links (``Feature.red_flag``) decide which evidence a reason carries."""
    _, out = explained
    backs = {f.name: f.red_flag for f in catalog() if f.red_flag is not None}
    checked = 0
    for row in out.iter_rows(named=True):
        flags = {f["flag"]: f["evidence"] for f in row["red_flags"]}
        cited: set[str] = set()  # an id another flagged reason cites already is not repeated
        for reason in row["reasons"]:
            flag = backs.get(reason["feature"])
            if reason["direction"] == "raises" and flag in flags:
                assert reason["evidence"] == [e for e in flags[flag] if e not in cited]
                cited.update(reason["evidence"])
                checked += 1
    assert checked > 0
