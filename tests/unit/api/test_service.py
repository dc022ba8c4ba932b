"""The service layer: payloads turned into frames (the rows a client sends about an entity come
out exactly as the dataset holds them, whatever UTC offset the times are written with), and the
model holder, whose reload refuses a version that fails to load or fails its canary (a 503
problem naming the reason, the old version still serving and scoring)."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flowrisk.api.schemas import ScoreRequest
from flowrisk.api.service import ModelHolder, payload_frames
from flowrisk.errors import AuditUnavailable, ModelNotFound, ModelRejected
from flowrisk.models.bundle import read_bundle, write_bundle
from flowrisk.models.registry import Bundle
from flowrisk.schema import TABLES
from tests.conftest import TrainedWorld
from tests.unit.api.conftest import Service
from tests.unit.api.payloads import payload_for

KEYS = {"accounts": "account_id", "transactions": "txn_id", "reports": "report_id"}


@pytest.fixture(scope="module")
def payload(trained_world: TrainedWorld) -> dict[str, Any]:
    """The payload of an entity with risk-tagged counterparty accounts and reports, so that
    list columns and every time column are exercised."""
    t = trained_world
    tagged = (
        t.frames["accounts"].filter(pl.col("risk_tags").list.len() > 0).select("account_id")
    ).collect()["account_id"]
    owners = t.frames["accounts"].select("account_id", "entity_id")
    candidates = (
        t.frames["transactions"]
        .filter(pl.col("src_account_id").is_in(tagged.implode()))
        .join(owners, left_on="dst_account_id", right_on="account_id")
        .select("entity_id")
        .unique()
        .sort("entity_id")
        .collect()["entity_id"]
    )
    assert len(candidates), "the world has no entity paid by a risk-tagged account"
    return payload_for(t.frames, candidates[0], t.as_of)


def test_payload_frames_hold_the_dataset_rows(
    trained_world: TrainedWorld, payload: dict[str, Any]
) -> None:
    frames = payload_frames(ScoreRequest.model_validate(payload))
    assert any(a.get("risk_tags") for a in payload["accounts"])
    for name, key in KEYS.items():
        got = frames[name].collect().sort(key)
        assert got.schema == TABLES[name].schema
        want = (
            trained_world.frames[name]
            .filter(pl.col(key).is_in(got[key].implode()))
            .sort(key)
            .collect()
        )
        assert_frame_equal(got, want.select(got.columns))
    entity = frames["entities"].collect()
    want_entity = trained_world.frames["entities"].filter(
        pl.col("entity_id") == payload["entity"]["entity_id"]
    )
    assert_frame_equal(entity, want_entity.collect())


@pytest.mark.parametrize("hours", [-7, 2, 5.5])
def test_times_with_any_utc_offset_give_the_same_instants(
    payload: dict[str, Any], hours: float
) -> None:
    zone = timezone(timedelta(hours=hours))

    def shifted(value: str) -> str:
        return datetime.fromisoformat(value).astimezone(zone).isoformat()

    moved = {
        **payload,
        "transactions": [{**t, "ts": shifted(t["ts"])} for t in payload["transactions"]],
        "reports": [{**r, "reported_at": shifted(r["reported_at"])} for r in payload["reports"]],
    }
    assert moved["transactions"][0]["ts"] != payload["transactions"][0]["ts"]
    utc = payload_frames(ScoreRequest.model_validate(payload))
    other = payload_frames(ScoreRequest.model_validate(moved))
    for name in ("transactions", "reports"):
        assert_frame_equal(utc[name].collect(), other[name].collect())


# The model reload: a version that would fail requests is refused before it serves.


def _broken_versions(bundle: Bundle) -> dict[str, tuple[Any, str]]:
    """What the loader hands back next, and what the refusal must say."""
    model = bundle.model
    return {
        "unknown feature": (
            replace(
                bundle, model=replace(model, features=[*model.features[:-1], "x"]), version="7"
            ),
            "unknown feature 'x' in the model",
        ),
        "NaN calibration": (
            replace(
                bundle,
                model=replace(model, calibration_y=np.full_like(model.calibration_y, np.nan)),
                version="7",
            ),
            "calibration gives NaN",
        ),
        "unpicklable bundle": (
            pickle.UnpicklingError("invalid load key, '\\x00'"),
            "UnpicklingError: invalid load key",
        ),
        "bundle without its calibration": (KeyError("calibration_x"), "KeyError: 'calibration_x'"),
        "truncated bundle file": (
            pl.exceptions.ComputeError("parquet: File out of specification"),
            "ComputeError: parquet: File out of specification",
        ),
        "missing version": (
            ModelNotFound("models:/flowrisk@champion: alias 'champion' does not exist"),
            "alias 'champion' does not exist",
        ),
    }


CASES = (
    "unknown feature",
    "NaN calibration",
    "unpicklable bundle",
    "bundle without its calibration",
    "truncated bundle file",
    "missing version",
)


@pytest.mark.parametrize("case", CASES)
def test_a_broken_version_is_refused_and_the_old_one_keeps_serving(
    service: Service, trained_world: TrainedWorld, payload: dict[str, Any], case: str
) -> None:
    admin = service.headers(service.admin)
    serving = service.holder.current.bundle
    assert serving.version == "1"
    version, message = _broken_versions(serving)[case]
    assert set(_broken_versions(serving)) == set(CASES)
    service.versions.append(version)
    refused = service.client.post("/v1/model/reload", headers=admin)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["title"] == "Reload refused" and problem["status"] == 503
    assert message in problem["detail"] and "still serving version 1" in problem["detail"]
    assert service.client.get("/v1/model", headers=admin).json()["version"] == "1"
    scored = service.client.post("/v1/scores", json=payload, headers=service.headers())
    assert scored.status_code == 200, scored.text
    assert scored.json()["model_version"] == "1"
    last = list(service.store.audit_rows())[-2]  # the reload's row, then the score's
    assert (last["route"], last["status"]) == ("/v1/model/reload", 503)


def test_a_good_version_is_swapped_in_and_audited(
    service: Service, payload: dict[str, Any]
) -> None:
    admin = service.headers(service.admin)
    serving = service.holder.current.bundle
    service.versions.append(replace(serving, version="2"))
    ok = service.client.post("/v1/model/reload", headers=admin)
    assert ok.status_code == 200 and ok.json()["version"] == "2"
    row = list(service.store.audit_rows())[-1]
    assert (row["route"], row["status"], row["model_version"]) == ("/v1/model/reload", 200, "1->2")
    scored = service.client.post("/v1/scores", json=payload, headers=service.headers())
    assert scored.status_code == 200 and scored.json()["model_version"] == "2"
    service.versions.append(serving)  # version 1 again, for the other tests of the module
    assert service.client.post("/v1/model/reload", headers=admin).json()["version"] == "1"


def test_a_service_whose_model_fails_its_canary_does_not_start(service: Service) -> None:
    """The first load runs the same canary: a holder (hence an app) is never built around a
    model that would fail every request."""
    serving = service.holder.current.bundle
    broken = replace(serving, model=replace(serving.model, thresholds={}))
    with pytest.raises(ModelRejected, match="version 1 of models:/flowrisk/1 is refused: the band"):
        ModelHolder("models:/flowrisk/1", lambda uri: (broken, {}))
    with pytest.raises(ModelRejected, match="cannot be loaded: EOFError: Ran out of input"):
        ModelHolder(
            "models:/flowrisk/1", lambda uri: (_ for _ in ()).throw(EOFError("Ran out of input"))
        )


@pytest.mark.parametrize("digest", [True, False], ids=["with its digest", "older, without"])
def test_a_truncated_booster_file_is_refused_before_lightgbm_reads_it(
    service: Service, payload: dict[str, Any], tmp_path: Path, digest: bool
) -> None:
    """LightGBM aborts the whole process on a truncated model file: the bundle reader refuses
    it first, by the SHA-256 the bundle lists (or, for older bundles, the end marker)."""
    serving = service.holder.current.bundle
    folder = write_bundle(serving.model, serving.baselines, tmp_path / "bundle")
    if not digest:
        meta = json.loads((folder / "model.json").read_text())
        del meta["booster_sha256"]
        (folder / "model.json").write_text(json.dumps(meta))
    assert read_bundle(folder, uri="u", version="9").model.features == serving.model.features
    booster = folder / "booster.txt"
    text = booster.read_bytes()
    booster.write_bytes(text[: len(text) // 2])
    try:
        read_bundle(folder, uri="u", version="9")
    except ModelRejected as exc:
        service.versions.append(exc)  # what the registry loader raises for this bundle
    else:
        pytest.fail("a truncated booster was read")
    refused = service.client.post("/v1/model/reload", headers=service.headers(service.admin))
    assert refused.status_code == 503
    detail = refused.json()["detail"]
    assert "booster.txt" in detail and "still serving version 1" in detail
    scored = service.client.post("/v1/scores", json=payload, headers=service.headers())
    assert scored.status_code == 200 and scored.json()["model_version"] == "1"


def test_no_reload_happens_while_the_audit_store_cannot_record_it(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise AuditUnavailable("audit store sqlite:///audit.db: database is locked")

    monkeypatch.setattr(service.store, "probe_write", down)
    serving = service.holder.current.bundle
    service.versions.append(replace(serving, version="2"))
    refused = service.client.post("/v1/model/reload", headers=service.headers(service.admin))
    assert refused.status_code == 503
    assert "database is locked" in refused.json()["detail"]
    assert "still serving version 1" in refused.json()["detail"]
    assert service.holder.current.bundle.version == "1"
    assert service.versions.pop().version == "2"  # never even loaded
