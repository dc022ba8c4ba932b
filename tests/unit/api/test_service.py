"""Payloads turned into frames: the rows a client sends about an entity come out exactly as the
dataset holds them, whatever UTC offset the times are written with."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flowrisk.api.schemas import ScoreRequest
from flowrisk.api.service import payload_frames
from flowrisk.schema import TABLES
from tests.conftest import TrainedWorld
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
